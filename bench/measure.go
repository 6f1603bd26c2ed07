package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// usage is what one build cost. CPU and memory are read system-wide, from
// /proc, because a docker build does its work in the daemon, not in the
// docker CLI that starts it: the machine must otherwise be idle.
type usage struct {
	Wall time.Duration
	// CPU is the busy time of all cores while the build ran.
	CPU time.Duration
	// PeakMem is the highest total resident memory of all processes but
	// the harness during the build (dockerd, containerd, the build
	// containers, kiln), above the total when it started. The page cache
	// is left out: it says more about the disk than about the tool.
	PeakMem int64
	// OwnRSS is the peak resident size of the process started (kiln's own;
	// the docker CLI's is meaningless and not reported), read from VmHWM:
	// rusage's maxrss would count the harness's memory, which a child
	// shares until it execs.
	OwnRSS int64
}

// measure runs cmd and samples the machine while it runs. It returns the
// command's combined output with the error, for the failure message.
func measure(cmd *exec.Cmd) (usage, []byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	base, err := processRSS()
	if err != nil {
		return usage{}, nil, err
	}
	cpu0, err := cpuBusy()
	if err != nil {
		return usage{}, nil, err
	}
	var (
		peak, hwm int64
		mu        sync.Mutex
		done      = make(chan struct{})
		wg        sync.WaitGroup
	)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return usage{}, nil, err
	}
	pid := cmd.Process.Pid
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				m, err := processRSS()
				h := vmHWM(pid)
				mu.Lock()
				if err == nil {
					peak = max(peak, m-base)
				}
				hwm = max(hwm, h)
				mu.Unlock()
			}
		}
	}()
	runErr := cmd.Wait()
	wall := time.Since(start)
	close(done)
	wg.Wait()
	cpu1, err := cpuBusy()
	if err != nil {
		return usage{}, nil, err
	}
	u := usage{Wall: wall, CPU: cpu1 - cpu0, PeakMem: peak, OwnRSS: hwm}
	if runErr != nil {
		return u, out.Bytes(), fmt.Errorf("%s: %w", strings.Join(cmd.Args, " "), runErr)
	}
	return u, out.Bytes(), nil
}

// vmHWM is the peak resident size of a running process, 0 once it is gone.
func vmHWM(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n * 1024
		}
	}
	return 0
}

// clockTicks is USER_HZ, the unit of /proc/stat: 100 on every Linux
// architecture kiln's benchmark runs on.
const clockTicks = 100

// cpuBusy is the time all cores spent not idle since boot.
func cpuBusy() (time.Duration, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var busy int64
	// user nice system idle iowait irq softirq steal
	for i, f := range fields[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: %w", err)
		}
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTicks, nil
}

// processRSS is the resident memory of every process but this one.
func processRSS() (int64, error) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	self := os.Getpid()
	page := int64(os.Getpagesize())
	var total int64
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == self {
			continue
		}
		data, err := os.ReadFile("/proc/" + d.Name() + "/statm")
		if err != nil {
			continue // gone meanwhile
		}
		f := strings.Fields(string(data))
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(f[1], 10, 64)
		total += n * page
	}
	return total, nil
}
