"""The catalog's storage: the schema, the shared mechanism, and one store per group of tables; strategy.catalog
composes them into Catalog."""
