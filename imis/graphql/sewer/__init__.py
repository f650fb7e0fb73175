"""GraphQL for sewer connections: types, queries, mutations, loaders."""
