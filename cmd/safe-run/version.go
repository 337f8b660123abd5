package main

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/safe-run/safe-run/internal/runtime"
	"github.com/safe-run/safe-run/internal/seccomp"
	"github.com/safe-run/safe-run/spec"
)

type versionInfo struct {
	SafeRun     string `json:"safe-run"`
	RuntimeSpec string `json:"runtime-spec"`
	OCIVersion  string `json:"oci-version"`
	Libseccomp  string `json:"libseccomp"`
	Runtime     string `json:"runtime"`
}

func (v versionInfo) list() [][2]string {
	return [][2]string{{"safe-run", v.SafeRun}, {"runtime-spec", v.RuntimeSpec + " (writes ociVersion " + v.OCIVersion + ")"},
		{"libseccomp", v.Libseccomp}, {"runtime", v.Runtime}}
}

func versions(c *cli.Context) versionInfo {
	v := versionInfo{SafeRun: version, RuntimeSpec: specs.Version, OCIVersion: spec.OCIVersion, Libseccomp: seccomp.LibVersion()}
	if rt, err := runtime.Find(c.String("runtime")); err == nil {
		v.Runtime = rt + ": " + runtimeVersion(rt)
	} else {
		v.Runtime = "not found"
	}
	return v
}
