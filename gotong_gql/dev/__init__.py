"""Tools for development and tests, never used by the API or the worker: the Markov Engine
stand-in (`gotong-gql markov-stub`)."""
