"""The read path benchmarks' parts: the seeded data, the three servers, the queries, wrk."""
