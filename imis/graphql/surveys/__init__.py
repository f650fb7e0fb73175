"""GraphQL for field surveys (read only): the review queue and the submissions a user sent."""
