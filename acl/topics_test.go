package acl

import (
	"errors"
	"strings"
	"testing"
)

func TestTopicMatches(t *testing.T) {
	tests := []struct {
		pattern, topic string
		want           bool
	}{
		// DESIGN section 3.
		{"realestate/contact", "realestate/contact", true},
		{"realestate/contact#add", "realestate/contact#add", true},
		{"realestate/contact", "realestate/contact#add", true},
		{"realestate/*", "realestate/contact", true},
		{"realestate/*", "realestate/contact#add", true},
		{"realestate/*", "realestate/contact/deep#x", true},
		{"*", "realestate/contact#add", true},
		{"*", "a/b", true},
		{"realestate/contact/*", "realestate/contact/note", true},
		// Non-matches.
		{"realestate/contacts", "realestate/contact", false},
		{"realestate/contact", "realestate/contacts", false},
		{"realestate/contact", "realestate/contacts#add", false},
		{"realestate/contact#add", "realestate/contact", false},
		{"realestate/contact#add", "realestate/contact#update", false},
		{"realestate/*", "realestatex/a", false},
		{"realestate/*", "realestate", false},
		{"realestate/*", "realestate/", false},
		{"realestate/contact/*", "realestate/contact", false},
		{"realestate/contact/*", "realestate/contact#add", false},
		{"realestate", "realestate/contact", false},
		{"Realestate/contact", "realestate/contact", false},
		{"other/contact", "realestate/contact", false},
		{"realestate/co*", "realestate/contact", false},
	}
	for _, tt := range tests {
		if got := TopicMatches(tt.pattern, tt.topic); got != tt.want {
			t.Errorf("TopicMatches(%q, %q) = %v, want %v", tt.pattern, tt.topic, got, tt.want)
		}
	}
}

func TestValidateTopic(t *testing.T) {
	valid := []string{
		"realestate/contact",
		"realestate/contact#add",
		"example.com/contact#add",
		"re_al-es.tate/con/tact/deep#Add_1.v-2",
		"A/B",
		"a/" + strings.Repeat("b", 254),
	}
	for _, topic := range valid {
		if err := ValidateTopic(topic); err != nil {
			t.Errorf("ValidateTopic(%q) = %v", topic, err)
		}
		if err := ValidatePattern(topic); err != nil {
			t.Errorf("ValidatePattern(%q) = %v", topic, err)
		}
	}
	invalid := []struct{ topic, want string }{
		{"", `invalid topic "": empty`},
		{"realestate", `invalid topic "realestate": must be {domain}/{topic} or {domain}/{topic}#{action}`},
		{"realestate#add", `invalid topic "realestate#add": must be {domain}/{topic} or {domain}/{topic}#{action}`},
		{"realestate/", `invalid topic "realestate/": empty segment`},
		{"/contact", `invalid topic "/contact": empty segment`},
		{"a//b", `invalid topic "a//b": empty segment`},
		{"a/b#", `invalid topic "a/b#": empty #action`},
		{"a/b#c#d", `invalid topic "a/b#c#d": #action: character '#' not allowed (use A-Z a-z 0-9 _ . -)`},
		{"a b/c", `invalid topic "a b/c": character ' ' not allowed (use A-Z a-z 0-9 _ . -)`},
		{"a/ü", `invalid topic "a/ü": character 'ü' not allowed (use A-Z a-z 0-9 _ . -)`},
		{"a/*", `invalid topic "a/*": character '*' not allowed (use A-Z a-z 0-9 _ . -)`},
		{"*", `invalid topic "*": must be {domain}/{topic} or {domain}/{topic}#{action}`},
		{"a/" + strings.Repeat("b", 255), `invalid topic "a/` + strings.Repeat("b", 255) + `": longer than 256 bytes`},
	}
	for _, tt := range invalid {
		err := ValidateTopic(tt.topic)
		if !errors.Is(err, ErrInvalidTopic) || err.Error() != tt.want {
			t.Errorf("ValidateTopic(%q) = %v, want %s", tt.topic, err, tt.want)
		}
	}
}

func TestValidatePattern(t *testing.T) {
	for _, p := range []string{"*", "realestate/*", "realestate/contact/*", "example.com/*", "realestate/contact#add"} {
		if err := ValidatePattern(p); err != nil {
			t.Errorf("ValidatePattern(%q) = %v", p, err)
		}
	}
	invalid := []struct{ p, want string }{
		{"", `invalid topic pattern "": empty`},
		{"realestate", `invalid topic pattern "realestate": must be {domain}/{topic} or {domain}/{topic}#{action}`},
		{"*/contact", `invalid topic pattern "*/contact": "*" is only allowed alone or as the last segment`},
		{"a/*/b", `invalid topic pattern "a/*/b": "*" is only allowed alone or as the last segment`},
		{"a/*#add", `invalid topic pattern "a/*#add": a pattern ending in "/*" cannot have an #action`},
		{"a/b#*", `invalid topic pattern "a/b#*": #action: character '*' not allowed (use A-Z a-z 0-9 _ . -)`},
		{"a/b*", `invalid topic pattern "a/b*": character '*' not allowed (use A-Z a-z 0-9 _ . -)`},
		{"**", `invalid topic pattern "**": must be {domain}/{topic} or {domain}/{topic}#{action}`},
		{"x y", `invalid topic pattern "x y": must be {domain}/{topic} or {domain}/{topic}#{action}`},
	}
	for _, tt := range invalid {
		err := ValidatePattern(tt.p)
		if !errors.Is(err, ErrInvalidPattern) || err.Error() != tt.want {
			t.Errorf("ValidatePattern(%q) = %v, want %s", tt.p, err, tt.want)
		}
	}
}
