// Package bench holds safe-run's startup benchmarks: Go micro-benchmarks
// for the in-process steps (this package) and bench/startup.sh for whole
// process starts, side by side with bare runc (docs/performance.md).
package bench

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/safe-run/safe-run/internal/seccomp"
)

// benchCompile times libseccomp compiling the default allowlist for the
// given architectures: the same library and work runc does on every start
// before it loads the filter.
func benchCompile(b *testing.B, archs ...specs.Arch) {
	filter := seccomp.Build(seccomp.DefaultPolicy())
	filter.Architectures = archs
	b.ReportAllocs()
	insns := 0
	for b.Loop() {
		n, err := seccomp.Compile(filter)
		if err != nil {
			b.Fatal(err)
		}
		insns = n
	}
	b.ReportMetric(float64(insns), "bpf-insns")
}

// BenchmarkSeccompCompile1Arch is what safe-run's default profile costs:
// the native architecture only.
func BenchmarkSeccompCompile1Arch(b *testing.B) {
	benchCompile(b, seccomp.NativeArch())
}

// BenchmarkSeccompCompile3Arch is the Docker-style filter over x86_64, x86
// and x32 that safe-run avoids.
func BenchmarkSeccompCompile3Arch(b *testing.B) {
	benchCompile(b, specs.ArchX86_64, specs.ArchX86, specs.ArchX32)
}
