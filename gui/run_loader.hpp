#pragma once
// Loads runs off the UI thread. Each path is read by RunModel::load in a QtConcurrent worker, one at
// a time, in the order asked for; each run that loads goes to the sink, on the loader's own thread,
// and a batch (one load() call) ends with batch_finished naming the paths that failed. Nothing here
// touches a widget: the worker only reads files and builds the model.
#include <QFutureWatcher>
#include <QObject>
#include <QStringList>
#include <deque>
#include <functional>
#include <memory>

#include "gui/run_model.hpp"

namespace dmlsim::gui {

class RunLoader : public QObject {
  Q_OBJECT

 public:
  // What a worker hands back: the run, or the error message (which names the file).
  struct Result {
    std::unique_ptr<RunModel> run;
    QString error;
    double seconds = 0;  // reading and building the model
  };
  using Sink = std::function<void(std::unique_ptr<RunModel> run, const QString& path, double seconds)>;
  // Runs in the worker before each load. Tests use it to hold a load until they let it go.
  using WorkerHook = std::function<void(const QString& path)>;

  explicit RunLoader(Sink sink, QObject* parent = nullptr);
  // Waits for the load that is running (core's reader cannot be interrupted) and drops the queue:
  // no sink call or signal comes after this.
  ~RunLoader() override;
  RunLoader(const RunLoader&) = delete;
  RunLoader& operator=(const RunLoader&) = delete;

  // Queues one batch behind those already queued.
  void load(const QStringList& paths);
  bool busy() const { return !queue_.empty(); }
  // The path being loaded now (empty when idle) and how many wait behind it.
  QString current() const { return busy() ? queue_.front().path : QString(); }
  int waiting() const { return busy() ? static_cast<int>(queue_.size()) - 1 : 0; }
  void set_worker_hook(WorkerHook hook) { hook_ = std::move(hook); }

 signals:
  void state_changed();  // a load started, or the queue emptied
  void batch_finished(int opened, const QStringList& errors);

 private:
  struct Job {
    QString path;
    bool ends_batch = false;
  };
  void start_next();
  void finish_current();

  Sink sink_;
  WorkerHook hook_;
  std::deque<Job> queue_;  // front: the job running now
  QFutureWatcher<Result> watcher_;
  // The batch at the front of the queue so far.
  int opened_ = 0;
  QStringList errors_;
};

}  // namespace dmlsim::gui
