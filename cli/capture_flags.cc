#include "cli/capture_flags.h"

#include <CLI/CLI.hpp>

#include "cli/verb.h"

namespace meshsim::cli {

void add_capture_flags(CLI::App* app, sim::CaptureOptions& o) {
  app->add_option("--pcap", o.pcap,
                  "Write every pod-to-pod TCP segment to FILE (pcap, Ethernet, nanosecond timestamps\n"
                  "from 2026-01-01T00:00:00Z + virtual time). Read it with tcpdump -r, tshark -r, Wireshark.")
      ->option_text("FILE")
      ->group("Capture");
  app->add_option("--pcap-pod", o.pcap_pods,
                  "Capture what `tcpdump -i any` inside one pod's network namespace would see: its eth0\n"
                  "and the app<->sidecar hops on lo (pcap, LINUX_SLL). NS/POD writes NS_POD.pcap;\n"
                  "NS/POD=FILE names the file. Repeatable.")
      ->option_text("NS/POD[=FILE]")
      ->group("Capture");
  app->add_option("--pcap-filter", o.filter,
                  "Only write packets matching this BPF expression (tcpdump syntax, compiled by libpcap),\n"
                  "e.g. \"tcp port 8080\" or \"tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0\".")
      ->option_text("EXPR")
      ->group("Capture");
  app->add_option("--keylog", o.keylog,
                  "Write TLS secrets in NSS key log format to FILE, for Wireshark/tshark decryption\n"
                  "(tshark -o tls.keylog_file:FILE). Empty until the simulation speaks TLS.")
      ->option_text("FILE")
      ->group("Capture");
}

void print_capture_summary(const sim::CaptureSession& session) {
  for (const auto& f : session.summary()) print_wrote(f.path, sim::describe_capture_file(f));
}

}  // namespace meshsim::cli
