package delivery

import (
	"context"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An event message that encoding/json would read by guessing (two members
// of one name, a name in another case, bad text) is malformed: reported
// failed, so after its receives it is in the DLQ, and nothing is enqueued for
// it; the good messages beside it are delivered.
func TestHandleStrictMessagesFailAlone(t *testing.T) {
	f := newHandlerFixture(t, nil)
	ev := events.SQSEvent{Records: []events.SQSMessage{
		eventMsg(0, native(0)),
		eventMsg(1, `{"event":"custom","event":"agent.started","data":{"n":1}}`),
		eventMsg(2, `{"event":"custom","Event":"agent.started","data":{"n":2}}`),
		eventMsg(3, `{"event":"agent.started","data":{"n":3,"n":4}}`),
		eventMsg(4, `{"event":"agent.started","data":{"s":"\ud800"}}`),
		eventMsg(5, "{\"event\":\"agent.started\",\"data\":{\"s\":\"\xff\"}}"),
		eventMsg(6, native(6)),
	}}
	res, err := f.h.Handle(context.Background(), ev)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"m-1", "m-2", "m-3", "m-4", "m-5"}, failedIDs(res))
	assert.Equal(t, []string{deliveryOf(0), deliveryOf(6)}, f.sentDeliveries(t))
	for _, id := range []string{"m-1", "m-2", "m-3", "m-4", "m-5"} {
		assert.Contains(t, f.logs.String(), `"`+id+`"`, "the refused message is logged with its id")
	}
}
