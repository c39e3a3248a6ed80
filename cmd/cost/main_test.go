package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPick(t *testing.T) {
	all, err := pick(nil)
	require.NoError(t, err)
	assert.Nil(t, all, "no --path: every path")

	got, err := pick([]string{"queue-batch", "http"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "queue-batch", got[0].Name)
	assert.Equal(t, "http", got[1].Name)

	_, err = pick([]string{"http", "carrier-pigeon"})
	assert.ErrorContains(t, err, `unknown path "carrier-pigeon"`)
}

func TestBadTemplateStopsBeforeRunning(t *testing.T) {
	cmd := command()
	cmd.SetArgs([]string{"--template", "does-not-exist.yaml", "-n", "1"})
	cmd.SetOut(nil)
	assert.Error(t, cmd.Execute())
}
