// hook_floor: attaches empty BPF programs to the fault-entry tracepoints
// (hook_floor.bpf.c) and holds them until SIGINT or SIGTERM. tools/bench.sh
// runs a fault storm beside it: the cost of any program there, the floor of
// what pagetrace's fault entry can cost a process it does not trace. Root.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hook_floor_bpf.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

int main(int argc, char** argv) {
    if (argc > 1) {
        fprintf(stderr, "usage: %s (attaches until SIGINT/SIGTERM; root)\n", argv[0]);
        return strcmp(argv[1], "--help") == 0 ? 0 : 2;
    }
    struct hook_floor_bpf* skel = hook_floor_bpf__open_and_load();
    if (!skel) {
        perror("hook_floor: loading the BPF programs");
        return 1;
    }
    if (hook_floor_bpf__attach(skel) != 0) {
        perror("hook_floor: attaching to exceptions:page_fault_user/kernel");
        hook_floor_bpf__destroy(skel);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr, "hook_floor: attached\n");
    while (!stop) pause();
    hook_floor_bpf__destroy(skel);
    return 0;
}
