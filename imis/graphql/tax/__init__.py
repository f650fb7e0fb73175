"""GraphQL for holding tax: types, queries, mutations, loaders."""
