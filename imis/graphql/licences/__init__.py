"""GraphQL for trade licences: types, queries, mutations, loaders."""
