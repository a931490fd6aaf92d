-- Driven by tests/lsp/test_lsp_neovim.py: Neovim >= 0.11 with editors/neovim/ame.lua as users
-- copy it; what a user sees after each action is written to AME_NVIM_OUT (JSON).
local out = os.getenv("AME_NVIM_OUT")
local file = os.getenv("AME_NVIM_FILE")
local repo = os.getenv("AME_REPO")
local result = { error = nil }

local function request(method, params)
  local replies = vim.lsp.buf_request_sync(0, method, params, 20000) or {}
  for _, reply in pairs(replies) do
    if reply.result ~= nil then
      return reply.result
    end
  end
  return nil
end

local function at(line, col)
  return { textDocument = { uri = vim.uri_from_bufnr(0) }, position = { line = line, character = col } }
end

local ok, err = pcall(function()
  vim.cmd("filetype on")
  dofile(repo .. "/editors/neovim/ame.lua")
  vim.cmd("edit " .. vim.fn.fnameescape(file))
  vim.wait(60000, function()
    return #vim.diagnostic.get(0) > 0
  end, 50)
  -- A second publish or a pull answer would land here: give both a moment to arrive.
  local client = vim.lsp.get_clients({ bufnr = 0, name = "ame-lsp" })[1]
  request("textDocument/hover", at(0, 0))
  vim.wait(1000, function() return false end, 50)
  result.diagnostics = {}
  for _, d in ipairs(vim.diagnostic.get(0)) do
    table.insert(result.diagnostics, { lnum = d.lnum, col = d.col, code = d.code, message = d.message })
  end
  result.pull_offered = client.server_capabilities.diagnosticProvider ~= nil
  -- hover on `memory`, line 7
  local hover = request("textDocument/hover", at(7, 7))
  result.hover = hover and hover.contents and hover.contents.value
  -- completion of a task's keys on the blank line 8
  local completion = request("textDocument/completion", at(8, 4))
  result.completion = {}
  for _, item in ipairs((completion and (completion.items or completion)) or {}) do
    table.insert(result.completion, item.label)
  end
  -- definition of `taskRef: train` (line 11) → the task on line 2
  local definition = request("textDocument/definition", at(11, 17))
  if definition and definition[1] then definition = definition[1] end
  result.definition = definition and (definition.range or definition.targetRange).start.line
  -- rename `train` from its definition, applied as Neovim applies it
  vim.api.nvim_win_set_cursor(0, { 3, 10 })
  vim.lsp.buf.rename("fit")
  vim.wait(10000, function()
    return vim.api.nvim_buf_get_lines(0, 11, 12, false)[1]:find("fit") ~= nil
  end, 50)
  result.renamed = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  -- the code action offered at `10GB` (extract the resources into a template), applied as
  -- Neovim applies a code action's edit
  local diag = vim.diagnostic.get(0, { severity = vim.diagnostic.severity.ERROR })[1]
  local actions = request("textDocument/codeAction", {
    textDocument = { uri = vim.uri_from_bufnr(0) },
    range = { start = { line = diag.lnum, character = diag.col }, ["end"] = { line = diag.end_lnum, character = diag.end_col } },
    context = { diagnostics = vim.lsp.diagnostic.from({ diag }), only = nil },
  }) or {}
  result.actions = {}
  for _, action in ipairs(actions) do
    table.insert(result.actions, action.title)
  end
  for _, action in ipairs(actions) do
    if action.edit then
      vim.lsp.util.apply_workspace_edit(action.edit, client.offset_encoding)
      break
    end
  end
  result.after_action = vim.api.nvim_buf_get_lines(0, 0, -1, false)
end)
if not ok then
  result.error = tostring(err)
end
vim.fn.writefile({ vim.fn.json_encode(result) }, out)
vim.cmd("qa!")
