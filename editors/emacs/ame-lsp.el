;;; ame-lsp.el --- Eglot set-up for ame-lsp (AME project files) -*- lexical-binding: t; -*-

;; Version: 0.1.0
;; Package-Requires: ((emacs "28.1"))
;; Keywords: languages, tools
;; License: Apache-2.0

;;; Commentary:

;; Defines `ame-yaml-mode' for files named ame.yml / ame.yaml and registers
;; the `ame-lsp' language server with Eglot.  The mode derives from
;; `yaml-ts-mode' when the tree-sitter YAML grammar is available (Emacs 29+),
;; otherwise from `yaml-mode' (MELPA) if installed, otherwise from `text-mode'.
;;
;; Usage (see README.md):
;;   (add-to-list 'load-path "/path/to/editors/emacs")
;;   (require 'ame-lsp)
;; The server comes from `pip install' of the AME console project.

;;; Code:

(declare-function eglot-ensure "eglot")
(declare-function yaml-mode "yaml-mode")
(declare-function yaml-ts-mode "yaml-ts-mode")
(declare-function treesit-language-available-p "treesit")
(defvar eglot-server-programs)

(defgroup ame-lsp nil
  "AME project files and the ame-lsp language server."
  :group 'languages
  :prefix "ame-lsp-")

(defcustom ame-lsp-server-command '("ame-lsp")
  "Command line that starts the ame-lsp server (stdio)."
  :type '(repeat string))

(defcustom ame-lsp-debounce-ms 150
  "Delay in ms before the server re-validates after an edit.
Sent as initializationOptions {\"debounceMs\": N}."
  :type 'integer)

(defcustom ame-lsp-auto-start t
  "When non-nil, run `eglot-ensure' in `ame-yaml-mode' buffers."
  :type 'boolean)

(defun ame-lsp--yaml-grammar-p ()
  "Non-nil when tree-sitter and its YAML grammar are both there (asked quietly)."
  (and (fboundp 'treesit-available-p) (treesit-available-p)
       (fboundp 'treesit-language-available-p)
       (treesit-language-available-p 'yaml)))

;; yaml-ts-mode only with its grammar (else every start warns about tree-sitter); yaml-mode
;; whenever it is installed otherwise.
(when (ame-lsp--yaml-grammar-p)
  (require 'yaml-ts-mode nil t))
(unless (and (featurep 'yaml-ts-mode) (ame-lsp--yaml-grammar-p))
  (require 'yaml-mode nil t))

(cond
 ((and (featurep 'yaml-ts-mode) (ame-lsp--yaml-grammar-p))
  (define-derived-mode ame-yaml-mode yaml-ts-mode "AME"
    "Major mode for AME project files (yaml-ts-mode based)."))
 ((featurep 'yaml-mode)
  (define-derived-mode ame-yaml-mode yaml-mode "AME"
    "Major mode for AME project files (yaml-mode based)."))
 (t
  (define-derived-mode ame-yaml-mode text-mode "AME"
    "Major mode for AME project files (no YAML mode available)."
    (setq-local comment-start "# ")
    (setq-local comment-start-skip "#+\\s-*"))))

(add-to-list 'auto-mode-alist '("/ame\\.ya?ml\\'" . ame-yaml-mode))

(defvar ame-lsp--warned nil "Non-nil once the missing Eglot was reported.")

(defun ame-lsp--maybe-start ()
  "Start Eglot in the current buffer if `ame-lsp-auto-start' is set.
Without Eglot, say so once instead of loading silently with no server."
  (when ame-lsp-auto-start
    (if (require 'eglot nil t)
        (eglot-ensure)
      (unless ame-lsp--warned
        (setq ame-lsp--warned t)
        (display-warning
         'ame-lsp
         (concat "Eglot is not installed, so ame-lsp is not started: on Emacs 28 "
                 "install it with `apt install elpa-eglot' (Debian/Ubuntu) or "
                 "`M-x package-install RET eglot' (needs GNU ELPA); Emacs 29+ has it built in")
         :warning)))))

(add-hook 'ame-yaml-mode-hook #'ame-lsp--maybe-start)

(defun ame-lsp--eglot-contact (&optional _interactive)
  "Eglot contact for ame-lsp: command line plus initializationOptions."
  (append ame-lsp-server-command
          (list :initializationOptions (list :debounceMs ame-lsp-debounce-ms))))

(with-eval-after-load 'eglot
  ;; Plain form, for reference: (add-to-list 'eglot-server-programs '(ame-yaml-mode . ("ame-lsp")))
  ;; The :language-id makes Eglot send "ame" instead of "ame-yaml".
  (add-to-list 'eglot-server-programs
               '((ame-yaml-mode :language-id "ame") . ame-lsp--eglot-contact)))

(provide 'ame-lsp)
;;; ame-lsp.el ends here
