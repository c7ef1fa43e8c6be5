/*
 * The pod sandbox's first process: it holds the pod's namespaces open and does nothing else.
 * As PID 1 of the pod it must reap orphans, which the kernel reparents to it, and it must exit
 * on SIGINT or SIGTERM because PID 1 has no default signal handlers.
 * Built static (hack/lab/images.sh) so that its image holds this one file.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int signo) {
	(void)signo;
	_exit(0);
}

static void reap(int signo) {
	(void)signo;
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
}

static int on(int signo, void (*handler)(int), int flags) {
	struct sigaction action;
	memset(&action, 0, sizeof action);
	action.sa_handler = handler;
	action.sa_flags = flags;
	sigemptyset(&action.sa_mask);
	return sigaction(signo, &action, NULL);
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		puts("kindlab pause");
		return 0;
	}
	if (getpid() != 1) {
		fputs("pause: warning: not running as PID 1\n", stderr);
	}
	if (on(SIGINT, stop, 0) < 0 || on(SIGTERM, stop, 0) < 0 || on(SIGCHLD, reap, SA_NOCLDSTOP) < 0) {
		perror("pause: sigaction");
		return 1;
	}
	for (;;) {
		pause();
	}
}
