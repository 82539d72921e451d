package web

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"

	"github.com/gavel-auctions/gavel/domain"
	"github.com/gavel-auctions/gavel/salecsv"
	"github.com/gofiber/fiber/v2"
)

// The CSV import page of a sale: the form, the preview of every problem,
// and the all-or-nothing import (the sale and lot forms are in
// pages_sale_forms.go).

// importData is the import page's Data.
type importData struct {
	Sale      domain.SaleView
	Columns   []string
	CSV       string // pasted text, kept for another try
	CheckOnly bool
	Checked   bool // a file was checked
	Preview   preview
	Error     string
}

func (p *pages) renderImport(c *fiber.Ctx, status int, d importData) error {
	pg := p.base(c, "Import lots: "+d.Sale.Title, "sales")
	d.Columns = salecsv.Columns
	pg.Data = d
	return p.r.render(c, status, "saleimport", pg)
}

func (p *pages) handleImportPage(c *fiber.Ctx) error {
	_, sale, done, err := p.managedSale(c)
	if done || err != nil {
		return err
	}
	return p.renderImport(c, fiber.StatusOK, importData{Sale: sale.View(nil, p.s.now()), CheckOnly: true})
}

// handleImportForm checks and imports a lots file, uploaded or pasted.
// Nothing is created unless the whole file is valid; every problem is
// listed with its row and column.
func (p *pages) handleImportForm(c *fiber.Ctx) error {
	u, sale, done, err := p.managedSale(c)
	if done || err != nil {
		return err
	}
	d := importData{Sale: sale.View(nil, p.s.now())}
	body, err := readBody(c, csvBodyLimit)
	if err != nil {
		pr, _ := pageProblem(err)
		d.Error = pr.detail
		return p.renderImport(c, pr.status, d)
	}
	file, pasted, checkOnly, err := importFields(c, body)
	if err != nil {
		d.Error = domain.ErrorMessage(err)
		return p.renderImport(c, fiber.StatusBadRequest, d)
	}
	d.CSV, d.CheckOnly = pasted, checkOnly
	data := file
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte(pasted)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		d.Error = "Choose a CSV file, or paste its contents."
		return p.renderImport(c, fiber.StatusUnprocessableEntity, d)
	}
	pv, lots, err := p.s.checkLotsFile(c, sale, data)
	if err != nil {
		return err
	}
	d.Checked, d.Preview = true, pv
	if !pv.Valid {
		return p.renderImport(c, fiber.StatusUnprocessableEntity, d)
	}
	if checkOnly {
		return p.renderImport(c, fiber.StatusOK, d)
	}
	ctx, cancel := p.s.importContext(c, len(lots))
	defer cancel()
	added, err := p.s.deps.Sales.AddLots(ctx, u, sale.ID, lots)
	if err != nil {
		pr, ok := pageProblem(err)
		if !ok {
			return err
		}
		d.Error = pr.detail
		return p.renderImport(c, pr.status, d)
	}
	p.flash(c, sessionFlashKey, "Imported "+strconv.Itoa(len(added))+" lots.")
	return seeOther(c, dashboardURL(sale.ID))
}

// importFields reads the import form from the raw body: a multipart form
// with the file (a browser's upload) or a urlencoded one with the text.
func importFields(c *fiber.Ctx, body []byte) (file []byte, pasted string, checkOnly bool, err error) {
	mt, params, _ := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if mt != "multipart/form-data" {
		return nil, c.FormValue("csv"), c.FormValue("check_only") != "", nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return file, pasted, checkOnly, nil
		}
		if err != nil {
			return nil, "", false, domain.Errorf(codeMalformed, "The upload could not be read. Please choose the file again.")
		}
		// The body is already bounded by csvBodyLimit.
		data, err := io.ReadAll(part)
		if err != nil {
			return nil, "", false, domain.Errorf(codeMalformed, "The upload could not be read. Please choose the file again.")
		}
		switch part.FormName() {
		case "file":
			file = data
		case "csv":
			pasted = strings.ReplaceAll(string(data), "\r\n", "\n")
		case "check_only":
			checkOnly = len(data) > 0
		}
	}
}
