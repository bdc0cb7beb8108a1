// The what-if dialog: the experiment it writes is one dmlsim runs, it runs dmlsim in a QProcess and
// the result opens beside the current run, errors appear exactly as the CLI prints them, a run can
// be cancelled, and a missing simulator is reported.
#include <yaml-cpp/yaml.h>

#include <QProcess>
#include <QSignalSpy>
#include <QTest>

#include "gui/main_window.hpp"
#include "gui/whatif_dialog.hpp"
#include "gui/whatif_spec.hpp"
#include "gui_test_support.hpp"
#include "gui_window_support.hpp"

namespace dmlsim::gui {
namespace {

constexpr int kRunTimeoutMs = 120000;  // a small simulation; generous for a loaded 2-core machine

QString qpath(const std::filesystem::path& p) {
  return QString::fromStdString(p.string());
}

// Live processes (not zombies: those have an empty command line) whose arguments mention `text`.
int processes_mentioning(const std::string& text) {
  int found = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    const std::string args(std::istreambuf_iterator<char>(in), {});
    found += args.find(text) != std::string::npos ? 1 : 0;
  }
  return found;
}

void use_built_dmlsim() {
  setenv("DMLSIM_BIN", (testing::binary_dir() / "dmlsim").c_str(), 1);
}

// Four ranks of a star, one small ring all-reduce, every message traced: a fraction of a second.
WhatIfSpec small_spec() {
  WhatIfSpec s;
  s.name = "what-if-star";
  s.platform = (testing::source_dir() / "platforms" / "star-16.yaml").string();
  s.ranks = 4;
  s.iterations = 1;
  s.strategy = "collective";
  s.options = {{"collective", "all-reduce"}, {"algorithm", "ring"}, {"size", "1MiB"}};
  s.trace = "messages";
  return s;
}

TEST(GuiWhatIfSpec, WritesTheExperimentFormat) {
  WhatIfSpec s = small_spec();
  s.model = "/m/gpt.yaml";
  s.options.emplace_back("overlap", "true");
  const YAML::Node e = YAML::Load(experiment_yaml(s))["experiment"];
  ASSERT_TRUE(e.IsMap());
  EXPECT_EQ(e["name"].as<std::string>(), "what-if-star");
  EXPECT_EQ(e["platform"].as<std::string>(), s.platform);
  EXPECT_EQ(e["model"].as<std::string>(), "/m/gpt.yaml");
  EXPECT_EQ(e["ranks"].as<int>(), 4);
  EXPECT_EQ(e["iterations"].as<int>(), 1);
  EXPECT_EQ(e["strategy"]["type"].as<std::string>(), "collective");
  EXPECT_EQ(e["strategy"]["size"].as<std::string>(), "1MiB");
  EXPECT_TRUE(e["strategy"]["overlap"].as<bool>());
  EXPECT_EQ(e["simulation"]["trace"].as<std::string>(), "messages");
  s.ranks = 0;
  s.model.clear();
  const YAML::Node d = YAML::Load(experiment_yaml(s))["experiment"];
  EXPECT_FALSE(d["ranks"]) << "0: one rank per host, dmlsim's default";
  EXPECT_FALSE(d["model"]);
  EXPECT_EQ(run_arguments("e.yaml", "out"),
            (std::vector<std::string>{"run", "e.yaml", "--out", "out", "--progress"}));
  EXPECT_EQ(default_options("data-parallel").front(),
            (std::pair<std::string, std::string>{"allreduce", "ring"}));
}

TEST(GuiWhatIfSpec, ReadsProgressAndErrorsFromStderr) {
  const std::string err = "\r  simulated 0.001000 s ...\r  simulated 0.250000 s ...\r" +
                          std::string(40, ' ') + "\rdmlsim: error: deadlock: 2 rank(s) never finished\n";
  EXPECT_DOUBLE_EQ(*last_progress(err), 0.25);
  EXPECT_FALSE(last_progress("dmlsim: e.yaml:3: field 'x': bad\n").has_value());
  EXPECT_EQ(without_progress(err), "dmlsim: error: deadlock: 2 rank(s) never finished\n");
  EXPECT_EQ(without_progress("dmlsim: e.yaml:3: bad\n"), "dmlsim: e.yaml:3: bad\n");
}

TEST(GuiWhatIf, RunsDmlsimAndOpensTheResultBesideTheCurrentRun) {
  testing::gui_app();
  use_built_dmlsim();
  const testing::ScratchDir dir("gui-whatif-run");
  MainWindow window(qpath(dir / "settings.ini"));
  ASSERT_EQ(testing::open_and_wait(window, {qpath(testing::test_run("demo-ring"))}), 1);
  WhatIfDialog* dialog = window.what_if_dialog();
  dialog->set_spec(small_spec());
  dialog->set_output_directory(qpath(dir / "out"));
  EXPECT_EQ(dialog->spec().options, small_spec().options) << "the form holds the spec";
  QSignalSpy finished(dialog, &WhatIfDialog::run_finished);
  QSignalSpy failed(dialog, &WhatIfDialog::run_failed);
  ASSERT_TRUE(dialog->start());
  EXPECT_TRUE(dialog->running());
  ASSERT_TRUE(finished.wait(kRunTimeoutMs)) << dialog->error_text().toStdString();
  EXPECT_EQ(failed.count(), 0);
  EXPECT_EQ(finished.front().front().toString(), qpath(dir / "out"));
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "trace.json"));
  EXPECT_TRUE(std::filesystem::exists(dir / "out" / "experiment.yaml"));
  // Opened beside the demo (loaded in the background): two runs stacked, the new one with its messages.
  ASSERT_TRUE(QTest::qWaitFor([&] { return window.timeline().run_count() == 2; }, testing::kLoadTimeoutMs));
  EXPECT_EQ(window.timeline().run(1).label(), "what-if-star (simulated)");
  EXPECT_EQ(window.timeline().run(1).rank_count(), 4);
  // A ring all-reduce of 4 ranks: each sends one message in each of its 2(n − 1) = 6 steps.
  EXPECT_EQ(window.timeline().run(1).messages().size(), 4u * 6);
  EXPECT_TRUE(dialog->status_text().startsWith(QStringLiteral("done")));
}

TEST(GuiWhatIf, ShowsErrorsExactlyAsTheCliPrintsThem) {
  testing::gui_app();
  use_built_dmlsim();
  const testing::ScratchDir dir("gui-whatif-error");
  WhatIfDialog dialog;
  WhatIfSpec spec = small_spec();
  spec.options[1].second = "rign";  // a typo dmlsim rejects
  dialog.set_spec(spec);
  dialog.set_output_directory(qpath(dir / "out"));
  QSignalSpy failed(&dialog, &WhatIfDialog::run_failed);
  ASSERT_TRUE(dialog.start());
  ASSERT_TRUE(failed.wait(kRunTimeoutMs));

  // The CLI itself, on the experiment the dialog wrote.
  QProcess cli;
  cli.start(qpath(testing::binary_dir() / "dmlsim"),
            {QStringLiteral("run"), qpath(dir / "out" / "experiment.yaml"), QStringLiteral("--out"),
             qpath(dir / "cli")});
  ASSERT_TRUE(cli.waitForFinished(kRunTimeoutMs));
  EXPECT_EQ(cli.exitCode(), 2) << "bad input";
  const QString printed = QString::fromLocal8Bit(cli.readAllStandardError());
  ASSERT_TRUE(printed.contains(QStringLiteral("rign")));
  EXPECT_EQ(dialog.error_text().trimmed(), printed.trimmed());
  EXPECT_EQ(failed.front().front().toString(), printed);
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "trace.json"));
}

TEST(GuiWhatIf, CancelStopsTheSimulator) {
  testing::gui_app();
  use_built_dmlsim();
  const testing::ScratchDir dir("gui-whatif-cancel");
  WhatIfDialog dialog;
  // A message-level ring all-reduce over 1024 ranks: ~10 s or more, plenty of time to cancel.
  WhatIfSpec spec = small_spec();
  spec.platform = (testing::source_dir() / "platforms" / "dgx-h100-16k.yaml").string();
  spec.ranks = 1024;
  spec.fidelity = "steps";
  spec.options[2].second = "256MiB";
  dialog.set_spec(spec);
  dialog.set_output_directory(qpath(dir / "out"));
  QSignalSpy cancelled(&dialog, &WhatIfDialog::run_cancelled);
  QSignalSpy finished(&dialog, &WhatIfDialog::run_finished);
  ASSERT_TRUE(dialog.start());
  QTest::qWait(800);
  ASSERT_TRUE(dialog.running());
  const std::string out = (dir / "out").string();
  EXPECT_EQ(processes_mentioning(out), 1) << "the simulator, writing to " << out;
  dialog.cancel();
  ASSERT_TRUE(cancelled.wait(10000));
  EXPECT_FALSE(dialog.running());
  EXPECT_EQ(finished.count(), 0);
  EXPECT_EQ(dialog.status_text(), QStringLiteral("cancelled"));
  EXPECT_EQ(processes_mentioning(out), 0) << "the simulator still runs";
  EXPECT_FALSE(std::filesystem::exists(dir / "out" / "trace.json"));
}

TEST(GuiWhatIf, ReportsAMissingSimulator) {
  testing::gui_app();
  setenv("DMLSIM_BIN", "/nonexistent/dmlsim", 1);
  const testing::ScratchDir dir("gui-whatif-missing");
  WhatIfDialog dialog;
  dialog.set_spec(small_spec());
  dialog.set_output_directory(qpath(dir / "out"));
  QSignalSpy failed(&dialog, &WhatIfDialog::run_failed);
  dialog.start();
  ASSERT_TRUE(failed.count() > 0 || failed.wait(10000));
  EXPECT_TRUE(dialog.error_text().contains(QStringLiteral("cannot start /nonexistent/dmlsim")))
      << dialog.error_text().toStdString();
  EXPECT_FALSE(dialog.running());
}

}  // namespace
}  // namespace dmlsim::gui
