package webhook

// EventType is one entry of the event catalogue.
type EventType struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// EventCustom is the catch-all event of the seed's catalogue.
const EventCustom = "custom"

// eventCatalogue lists the supported events in the seed's order.
var eventCatalogue = []EventType{
	{"agent.started", "Agent has started execution"},
	{"agent.stopped", "Agent has stopped"},
	{"agent.failed", "Agent execution failed"},
	{"workflow.started", "Workflow execution started"},
	{"workflow.completed", "Workflow completed successfully"},
	{"workflow.failed", "Workflow execution failed"},
	{"task.scheduled", "Task has been scheduled"},
	{"task.executed", "Scheduled task executed"},
	{"task.failed", "Scheduled task failed"},
	{"api.key.created", "New API key created"},
	{"api.key.revoked", "API key revoked"},
	{"api.limit.exceeded", "API rate limit exceeded"},
	{"system.health.degraded", "System health degraded"},
	{"system.health.restored", "System health restored"},
	{EventCustom, "Custom events"},
	// The service's own operational events (ops.go), subscribable like any.
	{EventWebhookFailing, "A webhook's circuit opened: its endpoint failed too many attempts in a row"},
	{EventWebhookRecovered, "A webhook's open circuit closed: its endpoint answered again"},
	{EventWebhookDisabled, "A webhook was made inactive: auto-disabled after failing for too long, or 410 Gone"},
	{EventDeliveryFailed, "A delivery ended failed: its attempts are exhausted or its failure is permanent"},
}

var eventSet = func() map[string]bool {
	m := make(map[string]bool, len(eventCatalogue))
	for _, e := range eventCatalogue {
		m[e.Name] = true
	}
	return m
}()

// EventTypes returns the supported events, in catalogue order. The slice is a
// copy; callers may modify it.
func EventTypes() []EventType {
	return append([]EventType(nil), eventCatalogue...)
}

// IsEvent reports whether name is a supported event.
func IsEvent(name string) bool { return eventSet[name] }
