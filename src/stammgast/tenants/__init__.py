"""Tenants (central customer groups), their locations, number ranges, staff roles, API clients."""
