"""What happened to the suggestions: records of requests and their outcomes, and what they tell.

`records` (the typed records and the outcome rule), `location` (where the database is), `store` (SQLite
or PostgreSQL: schema, migrations, reads), `recorder` (writes off the request path), `serving` (the
records of `codescaler serve`), and the `codescaler feedback` reports: `stats`, `report`, `threshold`,
`pairs`. docs/feedback.md says what is stored and why.
"""
