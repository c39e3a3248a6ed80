// Package sam holds the deployment's checks that are not the SAM CLI's: its
// test reads template.yaml and checks that it agrees with the code — tables
// with internal/store, queues with internal/queue, environment with
// internal/config, build targets with the Makefile. sam.sh runs the SAM CLI
// itself (make test-sam).
package sam
