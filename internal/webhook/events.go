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
