"""Multiplexed subscriptions: many subscribers of one process, one read per event and class.

- feed.py: what a subscription field listens to (`Feed`, `Source`), and `join`;
- transport.py: graphql-transport-ws, whose subscriptions join groups;
- multiplexer.py: the groups of the process, and the per-event re-read of the viewers;
- group.py: one group's event: viewers, source, classes, reads, fan-out;
- scope.py: an event's session and loaders, the reads' contexts, the probe of the classes;
- reader.py: `GroupReader`, the read step a compiled plan plugs into, and `ExecutorReader`;
- connection.py: a connection's bounded send queue, its viewer and expiry.

README "Live updates for many subscribers" says what clients see.
"""
