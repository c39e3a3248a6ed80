// Package e2e holds the end-to-end tests of the delivery pipeline: the real
// trigger service, delivery handler and HTTP API over AWS stand-ins (the
// embedded emulator, and moto's DynamoDB with ElasticMQ under `make test`),
// with the local event source mapping polling real queues and httptest
// servers as subscribers.
package e2e
