//! A line diff between a previous and a new submission, for the submit log.

/// Above this many cells of the comparison table the changed middle is reported as replaced whole.
const MAX_TABLE: usize = 4_000_000;

/// The lines that differ between `old` and `new`: `- line` for removed, `+ line` for added,
/// preceded by `@@ line N` markers. Empty when the texts are equal line by line.
pub fn line_diff(old: &str, new: &str) -> Vec<String> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a_mid, b_mid) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    if a_mid.is_empty() && b_mid.is_empty() {
        return Vec::new();
    }
    let ops = if (a_mid.len() + 1) * (b_mid.len() + 1) <= MAX_TABLE {
        lcs_ops(a_mid, b_mid)
    } else {
        a_mid
            .iter()
            .map(|_| Op::Del)
            .chain(b_mid.iter().map(|_| Op::Add))
            .collect()
    };
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    let mut in_hunk = false;
    for op in ops {
        match op {
            Op::Same => {
                i += 1;
                j += 1;
                in_hunk = false;
            }
            Op::Del | Op::Add => {
                if !in_hunk {
                    out.push(format!("@@ line {}", prefix + i + 1));
                    in_hunk = true;
                }
                if op == Op::Del {
                    out.push(format!("- {}", a_mid[i]));
                    i += 1;
                } else {
                    out.push(format!("+ {}", b_mid[j]));
                    j += 1;
                }
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same,
    Del,
    Add,
}

/// The edit script of a longest common subsequence of `a` and `b`.
fn lcs_ops(a: &[&str], b: &[&str]) -> Vec<Op> {
    let (n, m) = (a.len(), b.len());
    // len[i][j] = LCS length of a[i..] and b[j..].
    let mut len = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            len[at(i, j)] = if a[i] == b[j] {
                len[at(i + 1, j + 1)] + 1
            } else {
                len[at(i + 1, j)].max(len[at(i, j + 1)])
            };
        }
    }
    let mut ops = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push(Op::Same);
            i += 1;
            j += 1;
        } else if j < m && (i == n || len[at(i, j + 1)] > len[at(i + 1, j)]) {
            ops.push(Op::Add);
            j += 1;
        } else {
            ops.push(Op::Del);
            i += 1;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_have_no_diff() {
        assert!(line_diff("a\nb\n", "a\nb\n").is_empty());
        assert!(line_diff("", "").is_empty());
    }

    #[test]
    fn reports_changed_lines_with_their_position() {
        let d = line_diff("a\nb\nc\nd\n", "a\nB\nc\nd\ne\n");
        assert_eq!(d, vec!["@@ line 2", "- b", "+ B", "@@ line 5", "+ e"]);
    }

    #[test]
    fn whole_replacement() {
        assert_eq!(line_diff("x\n", "y\n"), vec!["@@ line 1", "- x", "+ y"]);
    }
}
