"""GraphQL for faecal sludge management: types, queries, mutations, loaders."""
