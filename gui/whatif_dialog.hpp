#pragma once
// The what-if dialog: pick a platform, a model, a strategy and its options; it writes the
// experiment, runs `dmlsim run` in a QProcess (progress shown, cancellable), shows errors exactly
// as the CLI prints them, and reports the run directory so the main window opens it beside the
// current run.
#include <QDialog>
#include <QElapsedTimer>
#include <QProcess>
#include <QString>

#include "gui/whatif_spec.hpp"

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTableWidget;
class QTimer;

namespace dmlsim::gui {

class WhatIfDialog : public QDialog {
  Q_OBJECT

 public:
  explicit WhatIfDialog(QWidget* parent = nullptr);
  ~WhatIfDialog() override;

  void set_spec(const WhatIfSpec& spec);
  WhatIfSpec spec() const;
  void set_output_directory(const QString& dir);
  QString output_directory() const;

  // Writes the experiment into the output directory and starts dmlsim; false (with the reason in
  // error_text()) if that is impossible.
  bool start();
  void cancel();
  bool running() const;
  QString error_text() const;
  QString status_text() const;

  // The dmlsim to run: $DMLSIM_BIN, else dmlsim beside this program, else dmlsim on the PATH.
  static QString dmlsim_program();
  // Where shipped platforms/ and models/ are: $DMLSIM_DATA_DIR, else the source tree.
  static QString data_directory();

 signals:
  void run_finished(const QString& run_directory);
  void run_failed(const QString& message);
  void run_cancelled();

 private:
  void strategy_changed(const QString& strategy);
  void process_finished(int exit_code, QProcess::ExitStatus status);
  void read_stderr();
  void set_running(bool running);
  void fail(const QString& message);

  QLineEdit* name_;
  QComboBox* platform_;
  QComboBox* model_;
  QSpinBox* ranks_;
  QSpinBox* iterations_;
  QComboBox* strategy_;
  QTableWidget* options_;
  QComboBox* fidelity_;
  QComboBox* trace_;
  QLineEdit* out_;
  QProgressBar* progress_;
  QLabel* status_;
  QPlainTextEdit* errors_;
  QPushButton* run_button_;
  QPushButton* cancel_button_;
  QProcess* process_;
  QTimer* ticker_;
  QElapsedTimer clock_;
  QString stderr_;
  QString run_directory_;
  bool cancelling_ = false;
};

}  // namespace dmlsim::gui
