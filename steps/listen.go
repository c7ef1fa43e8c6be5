package steps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/kindlab/playbook/engine"
)

type listenParams struct {
	Address string `yaml:"address" doc:"host:port to listen on, an address of this machine; port 0 takes a free one" pb:"required"`
	Name    string `yaml:"name" doc:"the first word of every answer, so a prober can tell who answered (default: playbook)"`
}

// listenAnswerTimeout bounds one connection: a prober that connects and never reads must not
// hold a goroutine until the run ends.
const listenAnswerTimeout = 5 * time.Second

func init() {
	engine.Register(engine.StepType[listenParams]{
		Name: "listen",
		Summary: "answer TCP connections on this machine with the address each came from, " +
			"until the run ends (what a pod's masqueraded traffic looks like from outside)",
		Example: `- name: listen where the pods can reach this machine
  id: outside
  listen: {address: "172.18.0.1:0"}`,
		Outputs: []engine.OutputDoc{
			{Name: "address", Type: "string", Doc: "host:port it listens on, the port filled in"},
			{Name: "host", Type: "string", Doc: "the host it listens on"},
			{Name: "port", Type: "int", Doc: "the port it listens on"},
		},
		Validate: func(p *listenParams) error {
			if _, _, err := net.SplitHostPort(p.Address); err != nil {
				return engine.Errorf("address", "want host:port (port 0 takes a free one), got %q", p.Address)
			}
			return nil
		},
		Run: runListen,
	})
}

// runListen answers each connection with one HTTP/1.0 response whose body is "NAME ADDRESS":
// nc, curl and wget all print it, and ADDRESS is the source the connection arrived from, after
// whatever translated it on the way. The listener belongs to the run, not to the step, so the
// steps after this one can send traffic to it; it closes when the run ends.
func runListen(_ context.Context, rt *engine.Runtime, p *listenParams) (map[string]any, error) {
	name := p.Name
	if name == "" {
		name = "playbook"
	}
	ln, err := net.Listen("tcp", p.Address)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w (the host must be an address of this machine)", p.Address, err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		for {
			conn, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			go answerWithSource(conn, name)
		}
	}()
	rt.OnRunEnd(func(context.Context) {
		_ = ln.Close()
		<-served
	})
	host, portText, _ := net.SplitHostPort(ln.Addr().String())
	port, _ := strconv.Atoi(portText)
	rt.Logf("listening on %s until the run ends", ln.Addr())
	return map[string]any{"address": ln.Addr().String(), "host": host, "port": port}, nil
}

func answerWithSource(conn net.Conn, name string) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(listenAnswerTimeout))
	source := conn.RemoteAddr().String()
	if tcp, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		source = tcp.IP.String()
	}
	body := name + " " + source + "\n"
	_, _ = fmt.Fprintf(conn, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	// Read what the client sent until it closes, so that closing here does not reset a
	// connection whose request is still arriving (the client would see a reset, not the answer).
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.CloseWrite()
	}
	buf := make([]byte, 512)
	for {
		if _, err := conn.Read(buf); err != nil {
			return
		}
	}
}
