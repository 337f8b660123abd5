// Command abtime times commands side by side: every round runs each command
// once, in a fresh shuffled order, so that drift on a noisy machine hits
// all of them alike. It reports wall time and the user+sys CPU of each
// command (with the children it reaped), and the median of the per-round
// (paired) ratios against a baseline command.
//
// Usage:
//
//	abtime [-rounds N] [-warmup W] [-baseline NAME] [-ratio A/B]... [-json FILE] NAME=CMD...
//
// CMD is split on whitespace into argv (no shell); "{i}" in an argument is
// replaced by a token unique to each run (for container ids). A command
// that exits non-zero aborts the measurement with its stderr.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type command struct {
	Name string   `json:"name"`
	Argv []string `json:"argv"`
}

type sample struct {
	Name   string  `json:"name"`
	Round  int     `json:"round"` // negative: warm-up round
	Order  int     `json:"order"` // position within the round
	Token  string  `json:"token"`
	WallMS float64 `json:"wall_ms"`
	UserMS float64 `json:"user_ms"`
	SysMS  float64 `json:"sys_ms"`
	CPUMS  float64 `json:"cpu_ms"`
}

type ratioFlag []string

func (r *ratioFlag) String() string     { return strings.Join(*r, ",") }
func (r *ratioFlag) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	rounds := flag.Int("rounds", 20, "measured rounds")
	warmup := flag.Int("warmup", 2, "warm-up rounds (run, not reported)")
	baseline := flag.String("baseline", "", "NAME of the baseline command (default: the first)")
	jsonFile := flag.String("json", "", "write every sample to `FILE` as JSON")
	seed := flag.Uint64("seed", 0, "shuffle seed (default: random)")
	var ratios ratioFlag
	flag.Var(&ratios, "ratio", "extra paired comparison `A/B` (repeatable)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: abtime [flags] NAME=CMD...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(*rounds, *warmup, *baseline, *jsonFile, *seed, ratios, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "abtime:", err)
		os.Exit(1)
	}
}

func run(rounds, warmup int, baseline, jsonFile string, seed uint64, ratios []string, args []string) error {
	if len(args) == 0 {
		return errors.New("no commands: give NAME=CMD arguments")
	}
	if rounds < 1 || warmup < 0 {
		return errors.New("-rounds must be >= 1 and -warmup >= 0")
	}
	var cmds []command
	index := map[string]int{}
	for _, a := range args {
		name, line, ok := strings.Cut(a, "=")
		argv := strings.Fields(line)
		if !ok || name == "" || len(argv) == 0 {
			return fmt.Errorf("%q: want NAME=CMD", a)
		}
		if _, dup := index[name]; dup {
			return fmt.Errorf("command name %q given twice", name)
		}
		index[name] = len(cmds)
		cmds = append(cmds, command{Name: name, Argv: argv})
	}
	base := 0
	if baseline != "" {
		i, ok := index[baseline]
		if !ok {
			return fmt.Errorf("-baseline %q is not one of the commands", baseline)
		}
		base = i
	}
	type pair struct{ a, b int }
	var pairs []pair
	for _, r := range ratios {
		a, b, ok := strings.Cut(r, "/")
		ia, okA := index[a]
		ib, okB := index[b]
		if !ok || !okA || !okB {
			return fmt.Errorf("-ratio %q: want A/B with two command names", r)
		}
		pairs = append(pairs, pair{ia, ib})
	}
	if seed == 0 {
		seed = rand.Uint64()
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	errFile, err := os.CreateTemp("", "abtime-stderr-*")
	if err != nil {
		return err
	}
	defer os.Remove(errFile.Name())
	defer errFile.Close()

	// wall[c][r], cpu[c][r] for measured rounds.
	wall := make([][]float64, len(cmds))
	cpu := make([][]float64, len(cmds))
	var samples []sample
	seq := 0
	order := make([]int, len(cmds))
	for i := range order {
		order[i] = i
	}
	for r := -warmup; r < rounds; r++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for pos, c := range order {
			seq++
			token := fmt.Sprintf("%d-%d", os.Getpid(), seq)
			s, err := runOnce(cmds[c], token, errFile)
			if err != nil {
				return err
			}
			s.Round, s.Order = r, pos
			samples = append(samples, s)
			if r >= 0 {
				wall[c] = append(wall[c], s.WallMS)
				cpu[c] = append(cpu[c], s.CPUMS)
			}
		}
	}

	fmt.Printf("%d rounds (+%d warm-up), shuffled order per round, seed %d; baseline %s\n\n",
		rounds, warmup, seed, cmds[base].Name)
	fmt.Println("| command | median ms | min ms | max ms | median cpu ms | paired ratio vs " + cmds[base].Name + " | paired cpu ratio |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|")
	for c, cmd := range cmds {
		fmt.Printf("| %s | %.2f | %.2f | %.2f | %.1f | %.2fx | %.2fx |\n", cmd.Name,
			median(wall[c]), slices.Min(wall[c]), slices.Max(wall[c]), median(cpu[c]),
			median(pairedRatio(wall[c], wall[base])), median(pairedRatio(cpu[c], cpu[base])))
	}
	if len(pairs) > 0 {
		fmt.Println()
		fmt.Println("| paired comparison | wall ratio median (min..max) | wall diff median ms | cpu ratio median | cpu diff median ms |")
		fmt.Println("|---|---:|---:|---:|---:|")
		for _, p := range pairs {
			wr := pairedRatio(wall[p.a], wall[p.b])
			fmt.Printf("| %s / %s | %.2fx (%.2f..%.2f) | %+.2f | %.2fx | %+.2f |\n",
				cmds[p.a].Name, cmds[p.b].Name, median(wr), slices.Min(wr), slices.Max(wr),
				median(pairedDiff(wall[p.a], wall[p.b])),
				median(pairedRatio(cpu[p.a], cpu[p.b])), median(pairedDiff(cpu[p.a], cpu[p.b])))
		}
	}
	fmt.Println()
	fmt.Println("Commands (argv split on whitespace, no shell; {i} = unique token per run):")
	fmt.Println()
	fmt.Println("```")
	for _, cmd := range cmds {
		fmt.Printf("%s=%s\n", cmd.Name, strings.Join(cmd.Argv, " "))
	}
	fmt.Println("```")

	if jsonFile != "" {
		data, err := json.MarshalIndent(map[string]any{
			"rounds": rounds, "warmup": warmup, "seed": strconv.FormatUint(seed, 10),
			"baseline": cmds[base].Name, "commands": cmds, "samples": samples,
		}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonFile, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// runOnce runs cmd once with stdin and stdout on /dev/null and stderr in
// errFile, and returns its wall time and CPU use.
func runOnce(cmd command, token string, errFile *os.File) (sample, error) {
	argv := make([]string, len(cmd.Argv))
	for i, a := range cmd.Argv {
		argv[i] = strings.ReplaceAll(a, "{i}", token)
	}
	if err := errFile.Truncate(0); err != nil {
		return sample{}, err
	}
	if _, err := errFile.Seek(0, io.SeekStart); err != nil {
		return sample{}, err
	}
	c := exec.Command(argv[0], argv[1:]...)
	c.Stderr = errFile // an *os.File is passed as is: no copying goroutine

	t0 := time.Now()
	err := c.Start()
	if err == nil {
		err = c.Wait()
	}
	elapsed := time.Since(t0)
	if err != nil {
		msg, _ := os.ReadFile(errFile.Name())
		return sample{}, fmt.Errorf("%s: `%s` failed: %v\n--- stderr ---\n%s", cmd.Name, strings.Join(argv, " "), err, msg)
	}
	ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return sample{}, errors.New("no rusage for the child")
	}
	user := float64(time.Duration(ru.Utime.Nano())) / 1e6
	sys := float64(time.Duration(ru.Stime.Nano())) / 1e6
	return sample{
		Name: cmd.Name, Token: token,
		WallMS: float64(elapsed) / 1e6, UserMS: user, SysMS: sys, CPUMS: user + sys,
	}, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func pairedRatio(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] / b[i]
	}
	return out
}

func pairedDiff(a, b []float64) []float64 {
	out := make([]float64, len(a))
	for i := range a {
		out[i] = a[i] - b[i]
	}
	return out
}
