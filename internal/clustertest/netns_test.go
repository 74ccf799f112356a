package clustertest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets this test binary be a node: with CLUSTERTEST_ROLE set it
// serves or dials instead of running the tests.
func TestMain(m *testing.M) {
	switch os.Getenv("CLUSTERTEST_ROLE") {
	case "echo":
		echo()
	case "dial":
		dial(os.Getenv("CLUSTERTEST_PEER"))
	default:
		os.Exit(m.Run())
	}
}

// echo answers every TCP line on port 7000 with its own name and the line.
func echo() {
	ln, err := net.Listen("tcp", ":7000")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	fmt.Println("listening")
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		go func() {
			defer c.Close()
			line, _ := bufio.NewReader(c).ReadString('\n')
			fmt.Fprintf(c, "%s from %s", os.Getenv("CLUSTERTEST_NAME"), line)
		}()
	}
}

// dial asks peer once and prints the answer, or the error.
func dial(peer string) {
	answer, err := ask(peer, 5*time.Second)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Print("answer: ", answer)
	os.Exit(0)
}

func ask(addr string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintln(c, "hello"); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

// askEventually asks until the node answers (it may still be starting).
func askEventually(t *testing.T, node *Node) string {
	t.Helper()
	addr := net.JoinHostPort(node.Addr.String(), "7000")
	deadline := time.Now().Add(20 * time.Second)
	for {
		answer, err := ask(addr, time.Second)
		if err == nil {
			return answer
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered: %v\n%s", node.Name, err, node.Output())
		}
		select {
		case <-node.Done():
			t.Fatalf("%s ended: %v\n%s", node.Name, node.Err(), node.Output())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Nodes on one Network reach each other and the test process by their
// own addresses, each from a namespace of its own; a killed node's
// address is gone while the others keep answering.
func TestClusterNetwork(t *testing.T) {
	n := NewNetwork(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	a := n.Start("a", []string{"CLUSTERTEST_ROLE=echo", "CLUSTERTEST_NAME=a"}, self)
	b := n.Start("b", []string{"CLUSTERTEST_ROLE=echo", "CLUSTERTEST_NAME=b"}, self)
	if a.Addr == b.Addr || !n.Prefix.Contains(a.Addr) || !n.Prefix.Contains(b.Addr) {
		t.Fatalf("addresses %s and %s on %s", a.Addr, b.Addr, n.Prefix)
	}
	if got := askEventually(t, a); got != "a from hello\n" {
		t.Fatalf("a answered %q", got)
	}
	if got := askEventually(t, b); got != "b from hello\n" {
		t.Fatalf("b answered %q", got)
	}

	// From a third namespace, across the bridge, to b.
	c := n.Start("c", []string{"CLUSTERTEST_ROLE=dial", "CLUSTERTEST_PEER=" + net.JoinHostPort(b.Addr.String(), "7000")}, self)
	<-c.Done()
	if c.Err() != nil || !strings.Contains(c.Output(), "answer: b from hello") {
		t.Fatalf("c could not reach b: %v\n%s", c.Err(), c.Output())
	}
	// A node's loopback is its own: the test process's loopback-only
	// listener is out of its reach.
	private, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer private.Close()
	go func() {
		for {
			conn, err := private.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(conn, "the test process")
			conn.Close()
		}
	}()
	if answer, err := ask(private.Addr().String(), time.Second); err != nil || answer != "the test process\n" {
		t.Fatalf("the listener does not answer here: %q, %v", answer, err)
	}
	d := n.Start("d", []string{"CLUSTERTEST_ROLE=dial", "CLUSTERTEST_PEER=" + private.Addr().String()}, self)
	<-d.Done()
	if d.Err() == nil || strings.Contains(d.Output(), "answer:") {
		t.Fatalf("a node reached the test process's loopback: %v\n%s", d.Err(), d.Output())
	}

	a.Kill()
	if _, err := ask(net.JoinHostPort(a.Addr.String(), "7000"), 2*time.Second); err == nil {
		t.Fatal("a killed node still answered")
	}
	if got := askEventually(t, b); got != "b from hello\n" {
		t.Fatalf("b after a's death answered %q", got)
	}
}
