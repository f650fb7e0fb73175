"""GraphQL for KPIs (read only): types, queries."""
