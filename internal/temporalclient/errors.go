package temporalclient

import (
	"errors"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
)

// ErrTypeAcceptedUpdateCompletedWorkflow is the ApplicationError type the
// server answers to an update that the workflow accepted, then completed
// without answering ("Workflow Update failed because the Workflow completed
// before the Update completed").
const ErrTypeAcceptedUpdateCompletedWorkflow = "AcceptedUpdateCompletedWorkflow"

// IsAlreadyStarted reports a start refused because the workflow id is taken:
// by a running workflow, or, under WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
// by one that has closed.
func IsAlreadyStarted(err error) bool { return temporal.IsWorkflowExecutionAlreadyStartedError(err) }

// IsNotFound reports a signal, update or query for a workflow that does not
// exist, or that has completed: the server answers serviceerror.NotFound to
// both.
func IsNotFound(err error) bool {
	var e *serviceerror.NotFound
	return errors.As(err, &e)
}

// IsCompletedBeforeUpdate reports an update that the workflow accepted, then
// completed without answering.
func IsCompletedBeforeUpdate(err error) bool {
	var ae *temporal.ApplicationError
	return errors.As(err, &ae) && ae.Type() == ErrTypeAcceptedUpdateCompletedWorkflow
}

// IsClosed reports an update that found its workflow completed: before it
// was delivered (IsNotFound) or after it was accepted (IsCompletedBeforeUpdate).
func IsClosed(err error) bool { return IsNotFound(err) || IsCompletedBeforeUpdate(err) }
