package api

import (
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// jsonCodec writes the seed's snake_case field names for Connect JSON and
// REST alike; reading accepts both snake_case and camelCase (so the seed's
// "stockQuantity" bodies work) and ignores unknown fields.
type jsonCodec struct{}

var (
	jsonMarshal   = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
	jsonUnmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}
)

func (jsonCodec) Name() string { return "json" }

func (jsonCodec) Marshal(msg any) ([]byte, error) {
	m, ok := msg.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("json codec: %T is not a proto message", msg)
	}
	return jsonMarshal.Marshal(m)
}

func (jsonCodec) Unmarshal(data []byte, msg any) error {
	m, ok := msg.(proto.Message)
	if !ok {
		return fmt.Errorf("json codec: %T is not a proto message", msg)
	}
	if err := jsonUnmarshal.Unmarshal(data, m); err != nil {
		return bodyError(err)
	}
	return nil
}

// restCodec is the same format for vanguard's REST transcoding.
func restCodec(res vanguard.TypeResolver) vanguard.Codec {
	m, u := jsonMarshal, jsonUnmarshal
	m.Resolver, u.Resolver = res, res
	return restJSONCodec{vanguard.JSONCodec{MarshalOptions: m, UnmarshalOptions: u}}
}

// restJSONCodec reports a body that does not decode (malformed JSON, a
// wrong type, a number out of the field's range) as InvalidArgument: the
// transcoder answers any other error as a 500.
type restJSONCodec struct{ vanguard.JSONCodec }

func (c restJSONCodec) Unmarshal(data []byte, msg proto.Message) error {
	if err := c.JSONCodec.Unmarshal(data, msg); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, bodyError(err))
	}
	return nil
}

func (c restJSONCodec) UnmarshalField(data []byte, msg proto.Message, field protoreflect.FieldDescriptor) error {
	if err := c.JSONCodec.UnmarshalField(data, msg, field); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, bodyError(err))
	}
	return nil
}

// bodyError says why a JSON body did not decode, without Go or proto
// package names.
func bodyError(err error) error {
	msg := strings.TrimSpace(strings.TrimPrefix(err.Error(), "proto:"))
	return errors.New("malformed request body: " + msg)
}
