package notify

import "slices"

// Channel types.
const (
	TypeWebSocket = "WebSocketChannel2023"
	TypeStreaming = "StreamingHTTPChannel2023"
	TypeWebhook   = "WebhookChannel2023"
	TypeLDN       = "LDNChannel2023"
)

// NS is the Solid Notifications vocabulary.
const NS = "http://www.w3.org/ns/solid/notifications#"

// Features every channel type supports.
var features = []string{"accept", "endAt", "rate", "startAt", "state"}

// channelType describes one channel type: its subscription service's path
// segment and whether notifications are pushed to a sendTo URL.
type channelType struct {
	name    string
	service string // path segment under .notifications/
	push    bool   // sendTo (webhook, LDN); otherwise receiveFrom
}

var channelTypes = []channelType{
	{name: TypeWebSocket, service: "websocket"},
	{name: TypeStreaming, service: "streaming-http"},
	{name: TypeWebhook, service: "webhook", push: true},
	{name: TypeLDN, service: "ldn", push: true},
}

// ChannelTypes returns the names of the supported channel types.
func ChannelTypes() []string {
	out := make([]string, len(channelTypes))
	for i, t := range channelTypes {
		out[i] = t.name
	}
	return out
}

func typeByName(name string) (channelType, bool) {
	i := slices.IndexFunc(channelTypes, func(t channelType) bool { return t.name == name })
	if i < 0 {
		return channelType{}, false
	}
	return channelTypes[i], true
}

func typeByService(seg string) (channelType, bool) {
	i := slices.IndexFunc(channelTypes, func(t channelType) bool { return t.service == seg })
	if i < 0 {
		return channelType{}, false
	}
	return channelTypes[i], true
}

func isPush(typ string) bool {
	t, ok := typeByName(typ)
	return ok && t.push
}
