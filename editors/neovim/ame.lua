-- ame-lsp for Neovim (>= 0.8, no plugins needed).
-- Put this file in your config (e.g. ~/.config/nvim/plugin/ame.lua) or
-- `dofile()` it from init.lua. Requires `ame-lsp` on PATH (pip install the
-- AME console project) or change `cmd` below.

if vim.fn.has("nvim-0.8") == 0 then
  -- vim.lsp.start and vim.fs (used below) came in 0.8: say so instead of a Lua traceback.
  local v = vim.version()
  vim.notify(
    string.format("ame-lsp needs Neovim 0.8 or newer (this is %d.%d.%d): not started", v.major, v.minor, v.patch),
    vim.log.levels.WARN
  )
  return
end

local group = vim.api.nvim_create_augroup("ame_lsp", { clear = true })

local function is_ame_file(bufnr)
  local name = vim.fs.basename(vim.api.nvim_buf_get_name(bufnr))
  return name == "ame.yml" or name == "ame.yaml"
end

local function start_ame_lsp(args)
  local bufnr = args.buf
  if not is_ame_file(bufnr) then
    return
  end
  local fname = vim.api.nvim_buf_get_name(bufnr)
  local marker = vim.fs.find({ "ame.yml", "ame.yaml", ".git" }, {
    upward = true,
    path = vim.fs.dirname(fname),
  })[1]
  vim.lsp.start({
    name = "ame-lsp",
    cmd = { "ame-lsp" },
    root_dir = marker and vim.fs.dirname(marker) or vim.fs.dirname(fname),
    init_options = { debounceMs = 150 },
  }, { bufnr = bufnr })
end

-- FileType covers buffers whose filetype is (re)set to yaml; BufReadPost covers
-- setups where yaml detection is disabled. vim.lsp.start reuses a running
-- client with the same name and root_dir, so firing twice is harmless.
vim.api.nvim_create_autocmd("FileType", {
  group = group,
  pattern = { "yaml" },
  callback = start_ame_lsp,
})
vim.api.nvim_create_autocmd("BufReadPost", {
  group = group,
  pattern = { "ame.yml", "ame.yaml" },
  callback = start_ame_lsp,
})
