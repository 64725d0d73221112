"""`make run-cluster`: Shopdesk as several instances on one machine, as a shop runs it on
several: PostgreSQL and Redis (Debian's packages), two engines, two action servers and
two gateways behind HAProxy (deploy/haproxy.cfg), one URL in front.

The processes are the same commands with the same settings a shop gives each machine
(docs/scaling.md); only where they listen differs. The fault tests (tests/cluster/)
start this same cluster on free ports.
"""
