"""GraphQL for the registry: types, queries, mutations, loaders."""
