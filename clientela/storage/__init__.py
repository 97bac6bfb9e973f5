"""Storage: the only layer that speaks SQL. Tables, migrations, repositories, unit of work."""
