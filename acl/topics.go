package acl

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Topic grammar (DESIGN section 3):
//
//	topic   = domain "/" segment *( "/" segment ) [ "#" action ]
//	domain  = segment          ; may contain dots: "example.com/contact"
//	segment = 1*( ALPHA / DIGIT / "_" / "." / "-" )
//	action  = segment
//	pattern = "*" / topic / domain *( "/" segment ) "/*"
//
// Published events may carry an action ("realestate/contact#add") or not
// ("realestate/contact"); both are valid topics. A pattern is a topic, the
// wildcard "*", or a prefix ending in "/*" (which takes no #action).

// maxTopicLen bounds topics and patterns, in bytes.
const maxTopicLen = 256

// ValidateTopic reports whether topic is a valid event topic,
// {domain}/{topic} or {domain}/{topic}#{action}. The error wraps
// ErrInvalidTopic and says what is wrong, e.g.
// `invalid topic "a": must be {domain}/{topic} or {domain}/{topic}#{action}`.
func ValidateTopic(topic string) error {
	if reason := checkTopic(topic, false); reason != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidTopic, topic, reason)
	}
	return nil
}

// ValidatePattern reports whether p is a valid topic permission pattern: a
// topic (with or without #action), "*", or a prefix ending in "/*" such as
// "realestate/*". The error wraps ErrInvalidPattern.
func ValidatePattern(p string) error {
	if reason := checkTopic(p, true); reason != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidPattern, p, reason)
	}
	return nil
}

// TopicMatches reports whether a permission pattern covers topic: the
// pattern is equal to the topic, or to the topic without its #action
// ("realestate/contact" covers "realestate/contact#add"), or ends in "/*" and
// the topic starts with everything before the "*" and goes on after it
// ("realestate/*" covers "realestate/contact" but not "realestatex/a"), or
// is "*". Validate patterns and topics first: TopicMatches only compares.
func TopicMatches(pattern, topic string) bool {
	if pattern == "*" || pattern == topic {
		return true
	}
	if i := strings.IndexByte(topic, '#'); i >= 0 && pattern == topic[:i] {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok && strings.HasSuffix(prefix, "/") {
		return len(topic) > len(prefix) && strings.HasPrefix(topic, prefix)
	}
	return false
}

// checkTopic returns why s is not a valid topic (or pattern), "" if it is.
func checkTopic(s string, pattern bool) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > maxTopicLen:
		return fmt.Sprintf("longer than %d bytes", maxTopicLen)
	case pattern && s == "*":
		return ""
	}
	path, action, hasAction := strings.Cut(s, "#")
	if strings.IndexByte(path, '/') < 0 {
		return "must be {domain}/{topic} or {domain}/{topic}#{action}"
	}
	rest := path
	for first := true; ; first = false {
		seg, more, found := strings.Cut(rest, "/")
		switch {
		case seg == "":
			return "empty segment"
		case pattern && seg == "*" && !first && !found:
			if hasAction {
				return `a pattern ending in "/*" cannot have an #action`
			}
		case seg == "*" && pattern:
			return `"*" is only allowed alone or as the last segment`
		default:
			if reason := checkSegment(seg); reason != "" {
				return reason
			}
		}
		if !found {
			break
		}
		rest = more
	}
	if hasAction {
		if action == "" {
			return "empty #action"
		}
		if reason := checkSegment(action); reason != "" {
			return "#action: " + reason
		}
	}
	return ""
}

// checkSegment returns why seg holds a character outside [A-Za-z0-9_.-].
func checkSegment(seg string) string {
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' {
			continue
		}
		r, _ := utf8.DecodeRuneInString(seg[i:])
		return fmt.Sprintf("character %q not allowed (use A-Z a-z 0-9 _ . -)", r)
	}
	return ""
}
