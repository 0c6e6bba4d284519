package api

import (
	"fmt"

	"connectrpc.com/vanguard"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
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
	return jsonUnmarshal.Unmarshal(data, m)
}

// restCodec is the same format for vanguard's REST transcoding.
func restCodec(res vanguard.TypeResolver) vanguard.Codec {
	m, u := jsonMarshal, jsonUnmarshal
	m.Resolver, u.Resolver = res, res
	return &vanguard.JSONCodec{MarshalOptions: m, UnmarshalOptions: u}
}
