// Evaluation metrics for the loss ablations and the classification tasks.
//
//   TokenMetrics m(15);                          // 15 confidence bins for the ECE
//   m.add(log_probs /*[N,V]*/, targets /*[N]*/);  // any number of batches
//   m.nll(); m.accuracy(); m.ece();
//   MultiLabelCounts c = multilabel_counts(scores /*[N,K]*/, labels /*[N,K] 0/1*/);  // s > 0
//   c.micro_f1(); c.macro_f1();
//   double rho = spearman(predicted, gold);       // rank correlation, ties get average ranks
//
// Expected calibration error (Guo et al., arXiv:1706.04599, eq. 3): each prediction's
// confidence c = max_v p_v goes to bin b = ceil(c M) - 1 (bins (b/M, (b+1)/M], c = 0 in bin 0);
//   ECE = sum_b (n_b / N) |acc_b - conf_b|
// with acc_b the fraction of correct argmax predictions and conf_b the mean confidence in bin b.
// Multi-label F1 at the ZLPR threshold 0 (label on where s > 0): micro F1 = 2TP / (2TP + FP +
// FN) over all (row, label) entries; macro F1 = the mean over labels of each label's F1 (a label
// with no positives and no predictions counts as F1 = 1: nothing to find, nothing claimed).
// Spearman's rho = Pearson's correlation of the average ranks (0 if either side is constant).
#pragma once

#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace tlm::train {

class TokenMetrics {
 public:
  explicit TokenMetrics(int bins = 15);
  // log_probs [N,V] floating (log-softmax of the logits), targets [N] int32 in [0, V).
  void add(const Tensor& log_probs, const Tensor& targets);
  // One prediction: its confidence max_v p_v, whether the argmax was right, -log p_target.
  void add_one(double confidence, bool correct, double nll);

  int64_t count() const { return count_; }
  double nll() const;       // mean -log p_target
  double accuracy() const;  // top-1
  double ece() const;
  // Mean confidence over all predictions: mean_confidence() - accuracy() > 0 is over-confident
  // (the sign that the ECE, a sum of absolute gaps, drops).
  double mean_confidence() const;
  // The reliability diagram: per confidence bin, its predictions, their mean confidence and
  // their accuracy (NAN for an empty bin).
  std::vector<int64_t> bin_counts() const { return bin_count_; }
  std::vector<double> bin_confidence() const;
  std::vector<double> bin_accuracy() const;

 private:
  int bins_;
  int64_t count_ = 0, correct_ = 0;
  double nll_sum_ = 0, conf_sum_ = 0;
  std::vector<int64_t> bin_count_, bin_correct_;
  std::vector<double> bin_conf_;
};

struct MultiLabelCounts {
  std::vector<int64_t> tp, fp, fn;  // per label [K]
  double micro_f1() const;
  double macro_f1() const;
  double exact_match = 0;  // fraction of rows whose predicted set equals the label set
};
// scores [N,K] floating, labels [N,K] int32 0/1; a label is predicted where score > threshold.
MultiLabelCounts multilabel_counts(const Tensor& scores, const Tensor& labels,
                                   double threshold = 0.0);

// Average ranks (1-based; ties share the mean of their positions).
std::vector<double> average_ranks(const std::vector<double>& x);
double pearson(const std::vector<double>& x, const std::vector<double>& y);
double spearman(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace tlm::train
