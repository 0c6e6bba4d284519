package api

import (
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// codecs are the codecs NewHandler serves with. Each writes the stored
// bytes of a response served from the local cache (see preencodedCarrier).
var codecs = []connect.Codec{jsonCodec{}, jsonCharsetCodec{}, protoCodec{}}

// jsonCodec writes the seed's snake_case field names for Connect JSON and
// REST alike; reading accepts both snake_case and camelCase (so the seed's
// "stockQuantity" bodies work) and ignores unknown fields.
type jsonCodec struct{}

var (
	jsonMarshal   = protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true}
	jsonUnmarshal = protojson.UnmarshalOptions{DiscardUnknown: true}
)

func (jsonCodec) Name() string { return "json" }

// jsonCharsetCodec is jsonCodec for "application/json; charset=utf-8",
// which Connect serves with a codec of its own unless this one replaces it.
type jsonCharsetCodec struct{ jsonCodec }

func (jsonCharsetCodec) Name() string { return "json; charset=utf-8" }

func (c jsonCodec) Marshal(msg any) ([]byte, error) { return c.MarshalAppend(nil, msg) }

// MarshalAppend lets Connect encode into its pooled buffers; a response
// served from the local cache is copied in as it was encoded.
func (jsonCodec) MarshalAppend(b []byte, msg any) ([]byte, error) {
	m, ok := msg.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("json codec: %T is not a proto message", msg)
	}
	if j, _, ok := splitPreencoded(m); ok {
		return append(b, j...), nil
	}
	return jsonMarshal.MarshalAppend(b, m)
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

// protoCodec is Connect's binary protobuf codec (Connect, gRPC, gRPC-Web),
// which also serves responses from the local cache as they were encoded.
type protoCodec struct{}

func (protoCodec) Name() string   { return "proto" }
func (protoCodec) IsBinary() bool { return true }

func (c protoCodec) Marshal(msg any) ([]byte, error) { return c.MarshalAppend(nil, msg) }

func (protoCodec) MarshalAppend(b []byte, msg any) ([]byte, error) {
	m, ok := msg.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("proto codec: %T is not a proto message", msg)
	}
	if _, pb, ok := splitPreencoded(m); ok {
		return append(b, pb...), nil
	}
	return proto.MarshalOptions{}.MarshalAppend(b, m)
}

func (protoCodec) Unmarshal(data []byte, msg any) error {
	m, ok := msg.(proto.Message)
	if !ok {
		return fmt.Errorf("proto codec: %T is not a proto message", msg)
	}
	return proto.Unmarshal(data, m)
}

// preencodedField is the field number of the unknown field that carries a
// cached response's JSON form (the largest valid number, used by no message).
const preencodedField = protowire.MaxValidNumber

// preencodedCarrier lays out the unknown fields of a response served from
// the local cache: its JSON form in preencodedField, then its protobuf form,
// so the codecs above copy out the form they speak without encoding.
func preencodedCarrier(json, pb []byte) []byte {
	b := protowire.AppendTag(make([]byte, 0, len(json)+len(pb)+10), preencodedField, protowire.BytesType)
	b = protowire.AppendBytes(b, json)
	return append(b, pb...)
}

// splitPreencoded returns the forms a carrier message holds.
func splitPreencoded(m proto.Message) (json, pb []byte, ok bool) {
	return splitCarrier(m.ProtoReflect().GetUnknown())
}

// splitCarrier returns the forms in preencodedCarrier's bytes.
func splitCarrier(u []byte) (json, pb []byte, ok bool) {
	if len(u) == 0 {
		return nil, nil, false
	}
	num, typ, n := protowire.ConsumeTag(u)
	if n < 0 || num != preencodedField || typ != protowire.BytesType {
		return nil, nil, false
	}
	j, k := protowire.ConsumeBytes(u[n:])
	if k < 0 {
		return nil, nil, false
	}
	return j, u[n+k:], true
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
