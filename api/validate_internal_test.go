package api

import (
	"maps"
	"slices"
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/shopkit/shop/internal/fulfilment"
	"github.com/shopkit/shop/internal/identity"
	"github.com/shopkit/shop/internal/orders"
	"github.com/shopkit/shop/internal/returns"
	"github.com/shopkit/shop/workflows/refund"
)

// Every rule of every request compiles (NewHandler refuses to start
// otherwise).
func TestSchemaRulesCompile(t *testing.T) {
	_, err := validationInterceptor(serviceNames)
	require.NoError(t, err)
}

// schemaIn is the string.in list the schema gives a field.
func schemaIn(t *testing.T, field protoreflect.FullName) []string {
	t.Helper()
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(field)
	require.NoError(t, err, field)
	rules, _ := proto.GetExtension(d.(protoreflect.FieldDescriptor).Options(), validate.E_Field).(*validate.FieldRules)
	in := rules.GetString().GetIn()
	require.NotEmpty(t, in, "%s has a string.in rule", field)
	return in
}

// The value lists in the schema are the ones the Go code knows: a value
// added on one side only would be refused, or reach a handler that does not
// understand it.
func TestSchemaListsMatchTheCode(t *testing.T) {
	roles := []string{string(identity.RoleCustomer), string(identity.RoleStaff), string(identity.RoleAdmin)}
	assert.ElementsMatch(t, roles, schemaIn(t, "shop.auth.v1.SetUserRoleRequest.role"))

	for _, s := range schemaIn(t, "shop.order.v1.ListOrdersRequest.status") {
		_, err := orders.ParseStatus(s)
		assert.NoError(t, err, s)
	}
	assert.ElementsMatch(t, []string{string(orders.StatusAwaitingPayment), string(orders.StatusPaid),
		string(orders.StatusPartiallyShipped), string(orders.StatusShipped), string(orders.StatusDelivered),
		string(orders.StatusPaymentFailed), string(orders.StatusCancelled), string(orders.StatusPartiallyRefunded),
		string(orders.StatusRefunded)},
		schemaIn(t, "shop.order.v1.ListOrdersRequest.status"))

	d, err := protoregistry.GlobalFiles.FindDescriptorByName("shop.fulfilment.v1.ListShipmentsRequest.status")
	require.NoError(t, err)
	rules, _ := proto.GetExtension(d.(protoreflect.FieldDescriptor).Options(), validate.E_Field).(*validate.FieldRules)
	shipmentStatuses := rules.GetRepeated().GetItems().GetString().GetIn()
	assert.Len(t, shipmentStatuses, 9, "every shipment status")
	for _, s := range shipmentStatuses {
		_, err := fulfilment.ParseStatus(s)
		assert.NoError(t, err, s)
	}
	assert.ElementsMatch(t, []string{fulfilment.ResolveReship, fulfilment.ResolveRefund},
		schemaIn(t, "shop.fulfilment.v1.ResolveLostShipmentRequest.action"))

	d, err = protoregistry.GlobalFiles.FindDescriptorByName("shop.returns.v1.ListReturnsRequest.status")
	require.NoError(t, err)
	rules, _ = proto.GetExtension(d.(protoreflect.FieldDescriptor).Options(), validate.E_Field).(*validate.FieldRules)
	var returnStatuses []string
	for _, st := range returns.Statuses {
		returnStatuses = append(returnStatuses, string(st))
	}
	assert.ElementsMatch(t, returnStatuses, rules.GetRepeated().GetItems().GetString().GetIn(), "every return status")

	assert.ElementsMatch(t, []string{refund.ActionRetry, refund.ActionMarkRefunded, refund.ActionGiveUp},
		schemaIn(t, "shop.order.v1.ResolveRefundRequest.action"))

	known := slices.DeleteFunc(slices.Collect(maps.Keys(sorts)), func(s string) bool { return s == "" })
	assert.ElementsMatch(t, known, schemaIn(t, "shop.catalog.v1.SearchProductsRequest.sort"))
}
