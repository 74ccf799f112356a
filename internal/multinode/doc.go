// Package multinode holds the tests of meetings that span cluster nodes:
// several Kaigi servers in one test process, sharing one NATS server and
// one PostgreSQL database, with pion participants connected to different
// nodes. It has no code of its own.
package multinode
