package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100 on
// every Linux architecture.
const userHZ = 100

// ProcStat is what /proc says of a process.
type ProcStat struct {
	CPU     time.Duration // user + system time so far
	PeakRSS int64         // VmHWM, bytes: the largest resident set since the start
	RSS     int64         // VmRSS, bytes
}

// ReadProc reads the CPU time and resident set of process pid.
func ReadProc(pid int) (ProcStat, error) {
	var st ProcStat
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return st, err
	}
	// The command name (field 2) is in parentheses and may hold anything;
	// the fields after its closing one start at field 3 (state).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return st, fmt.Errorf("loadtest: /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return st, fmt.Errorf("loadtest: /proc/%d/stat: %d fields", pid, len(f)+2)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return st, fmt.Errorf("loadtest: /proc/%d/stat: %w", pid, err)
	}
	st.CPU = time.Duration(utime+stime) * time.Second / userHZ

	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != "VmHWM" && name != "VmRSS" {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return st, fmt.Errorf("loadtest: /proc/%d/status %s: %w", pid, name, err)
		}
		if name == "VmHWM" {
			st.PeakRSS = kb << 10
		} else {
			st.RSS = kb << 10
		}
	}
	return st, nil
}

// ListenerPID finds the process that listens on TCP port on this machine,
// from /proc/net/tcp{,6} and the socket links in /proc/<pid>/fd (only
// processes of this user can be seen).
func ListenerPID(port int) (int, error) {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st ... inode: 0A is LISTEN.
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			_, hexPort, _ := strings.Cut(f[1], ":")
			if p, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(p) == port {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, fmt.Errorf("loadtest: nothing listens on port %d", port)
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if link, err := os.Readlink(fd); err == nil && inodes[link] {
			parts := strings.Split(fd, "/")
			return strconv.Atoi(parts[2])
		}
	}
	return 0, fmt.Errorf("loadtest: the process listening on port %d is not visible (another user's?)", port)
}

// Local is a cmd/local process started by StartLocal.
type Local struct {
	URL     string // the API
	PID     int
	LogPath string // its stderr: the JSON logs

	cmd    *exec.Cmd
	exited chan error
}

// startTimeout bounds how long a local stack may take to start.
const startTimeout = 2 * time.Minute

// StartLocal runs the cmd/local binary bin on a free port (PORT=0, as `make
// run` does with PORT set) with this process's environment, its state in
// memory (a measured stack starts fresh and never touches the data of
// `make run`), its logs appended to logPath, and waits until it serves. env
// (KEY=value) is added to the environment.
func StartLocal(ctx context.Context, bin, logPath string, env ...string) (*Local, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(bin)
	cmd.Env = append(append(os.Environ(), "PORT=0", "WEBHOOKS_DATA_DIR=memory"), env...)
	cmd.Stderr = logf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadtest: start %s: %w", bin, err)
	}
	l := &Local{PID: cmd.Process.Pid, LogPath: logPath, cmd: cmd, exited: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		// The banner names the API's URL; the rest of stdout is drained.
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && f[0] == "API" && strings.HasPrefix(f[1], "http://") {
				select {
				case urls <- f[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		l.exited <- cmd.Wait()
	}()
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	select {
	case l.URL = <-urls:
	case err := <-l.exited:
		l.exited <- err
		return nil, fmt.Errorf("loadtest: %s exited while starting (%v); its log: %s", bin, err, logPath)
	case <-ctx.Done():
		_ = l.Stop()
		return nil, fmt.Errorf("loadtest: %s did not start in %s; its log: %s", bin, startTimeout, logPath)
	}
	if err := waitHealthy(ctx, l.URL); err != nil {
		_ = l.Stop()
		return nil, err
	}
	return l, nil
}

// waitHealthy polls GET /healthz until it answers 200.
func waitHealthy(ctx context.Context, url string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/healthz", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("loadtest: %s/healthz: not healthy: %w", url, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stopGrace is how long the stack may take to shut down after SIGTERM
// before it is killed.
const stopGrace = 15 * time.Second

// Stop ends the process gracefully (SIGTERM), or kills it after stopGrace.
func (l *Local) Stop() error {
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-l.exited:
		l.exited <- err
		return err
	case <-time.After(stopGrace):
		_ = l.cmd.Process.Kill()
		return fmt.Errorf("loadtest: the local stack (pid %d) did not stop in %s; killed", l.PID, stopGrace)
	}
}
