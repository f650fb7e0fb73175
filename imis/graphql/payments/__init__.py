"""GraphQL for online payments (read only)."""
