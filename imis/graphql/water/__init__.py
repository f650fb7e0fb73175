"""GraphQL for water supply: types, queries, mutations, loaders."""
