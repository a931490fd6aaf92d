;;; eglot-check.el --- drive Emacs + Eglot + ame-lsp in batch mode -*- lexical-binding: t; -*-
;; Driven by tests/lsp/test_lsp_emacs.py: the set-up of editors/emacs/README.md, then what a
;; user sees (diagnostics, completion, definition) written to $AME_EMACS_OUT as JSON.
(require 'json)
(package-initialize)  ; what an interactive start does: finds Debian's elpa-eglot too
(add-to-list 'load-path (expand-file-name "editors/emacs" (getenv "AME_REPO")))
(require 'ame-lsp)
(require 'eglot)
(require 'flymake)
(require 'xref)

(defun ame-check--wait (pred seconds)
  "Let process output in until PRED holds or SECONDS pass."
  (let ((deadline (+ (float-time) seconds)))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (funcall pred)))

(let ((result (list (cons 'emacs emacs-version))) (file (getenv "AME_EMACS_FILE")))
  (condition-case err
      (progn
        (find-file file)
        (push (cons 'mode (symbol-name major-mode)) result)
        ;; eglot-ensure starts the server after the command that opened the file.
        (run-hooks 'post-command-hook)
        (ame-check--wait (lambda () (eglot-current-server)) 60)
        (ame-check--wait (lambda () (flymake-diagnostics)) 60)
        (push (cons 'diagnostics
                    (mapcar (lambda (d)
                              (save-excursion
                                (goto-char (flymake-diagnostic-beg d))
                                (list (cons 'line (line-number-at-pos))
                                      (cons 'col (current-column))
                                      (cons 'text (flymake-diagnostic-text d)))))
                            (flymake-diagnostics)))
              result)
        ;; completion at the blank line inside the task (line 9, column 4)
        (goto-char (point-min)) (forward-line 8) (move-to-column 4 t)
        (let* ((capf (eglot-completion-at-point))
               (table (nth 2 capf)))
          (push (cons 'completion (all-completions "" table)) result))
        ;; definition of `taskRef: train' (line 12)
        (goto-char (point-min)) (forward-line 11) (search-forward "taskRef: t")
        (let* ((id (xref-backend-identifier-at-point 'eglot))
               (defs (xref-backend-definitions 'eglot id))
               (loc (and defs (xref-item-location (car defs)))))
          (push (cons 'definition_line (and loc (xref-location-line loc))) result)))
    (error (push (cons 'error (error-message-string err)) result)))
  (with-temp-file (getenv "AME_EMACS_OUT") (insert (json-encode result)))
  (ignore-errors (eglot-shutdown (eglot-current-server)))
  (kill-emacs 0))
