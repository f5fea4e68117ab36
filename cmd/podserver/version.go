package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// The version and revision scripts/release stamps into the binary with
// -ldflags "-X main.stampedVersion=... -X main.stampedRevision=...
// -X main.stampedTime=...": the linker sets them, nothing writes them at
// run time. They are empty in any other build, which uses the build
// information Go embeds (a go install of a tagged module version, or a
// build with VCS stamping, -buildvcs, in a git clone).
var (
	stampedVersion  string
	stampedRevision string
	stampedTime     string
)

// versionText is what podserver --version prints: the version, the VCS
// revision the binary was built from, and the Go toolchain and platform.
func versionText() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = &debug.BuildInfo{}
	}
	return formatVersion(info, stampedVersion, stampedRevision, stampedTime)
}

// formatVersion formats build information for --version; a version,
// revision or time stamped by the linker takes precedence. A binary built
// with neither (go build with -buildvcs=false, as CI does, or in a git
// worktree, where Go does not stamp) says so instead of naming a revision.
func formatVersion(info *debug.BuildInfo, version, revision, revTime string) string {
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if version == "" {
		version = info.Main.Version
	}
	if version == "" || version == "(devel)" {
		version = "devel"
	}
	if revision != "" {
		settings["vcs.revision"], settings["vcs.time"] = revision, revTime
		delete(settings, "vcs.modified") // the stamped version says "-dirty"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "podserver %s\n", version)
	if rev := settings["vcs.revision"]; rev != "" {
		fmt.Fprintf(&b, "revision %s", rev)
		if t := settings["vcs.time"]; t != "" {
			fmt.Fprintf(&b, " (%s)", t)
		}
		if settings["vcs.modified"] == "true" {
			b.WriteString(", with uncommitted changes")
		}
		b.WriteString("\n")
	} else {
		b.WriteString("revision unknown: built without VCS information (scripts/release stamps it)\n")
	}
	goVersion := info.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	fmt.Fprintf(&b, "%s %s/%s\n", goVersion, runtime.GOOS, runtime.GOARCH)
	return b.String()
}
