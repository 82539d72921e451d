package invoicing

import (
	"bytes"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/gavel-auctions/gavel/domain"
)

// InvoicePDF renders an invoice or credit note as an A4 PDF with the core
// Helvetica font (text outside Windows-1252 prints as "?"). The output is
// deterministic: the same invoice gives the same bytes.
func InvoicePDF(inv domain.Invoice, instructions string, terms []string) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(inv.IssuedAt)
	pdf.SetModificationDate(inv.IssuedAt)
	pdf.SetCreator("Gavel", false)
	pdf.SetProducer("Gavel", false)
	pdf.SetMargins(18, 18, 18)
	pdf.SetAutoPageBreak(true, 18)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	title := "Invoice"
	if inv.Kind == domain.KindCreditNote {
		title = "Credit note"
	}
	pdf.SetTitle(title+" "+inv.Reference, true)
	pdf.AddPage()
	w, _ := pdf.GetPageSize()
	inner := w - 36
	money := func(v int64) string { return domain.FormatMoney(v, inv.Currency) }
	text := func(style string, size float64, s string) {
		pdf.SetFont("Helvetica", style, size)
		pdf.MultiCell(inner, size*0.5, tr(s), "", "L", false)
	}

	pdf.SetFont("Helvetica", "B", 20)
	pdf.CellFormat(inner/2, 10, tr(title), "", 0, "L", false, 0, "")
	pdf.SetFont("Helvetica", "B", 14)
	pdf.CellFormat(inner/2, 10, tr(inv.Reference), "", 1, "R", false, 0, "")
	pdf.Ln(2)
	status := strings.ToUpper(string(inv.Status))
	if inv.Overdue {
		status = "OVERDUE"
	}
	text("", 10, "Issued "+day(inv.IssuedAt)+"   Due "+day(inv.DueAt)+"   Status: "+status)
	if inv.Kind == domain.KindCreditNote && inv.Reason != "" {
		text("", 10, "Cancels invoice #"+itoa(inv.CreditFor)+". Reason: "+inv.Reason)
	}
	pdf.Ln(4)
	y := pdf.GetY()
	pdf.SetFont("Helvetica", "B", 10)
	pdf.CellFormat(inner/2, 5, "Seller", "", 2, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(inner/2, 5, tr(inv.Seller.Name), "", 2, "L", false, 0, "")
	pdf.CellFormat(inner/2, 5, tr(inv.Seller.Email), "", 2, "L", false, 0, "")
	pdf.SetXY(18+inner/2, y)
	pdf.SetFont("Helvetica", "B", 10)
	pdf.CellFormat(inner/2, 5, "Buyer", "", 2, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	pdf.CellFormat(inner/2, 5, tr(inv.Buyer.Name), "", 2, "L", false, 0, "")
	pdf.CellFormat(inner/2, 5, tr(inv.Buyer.Email), "", 2, "L", false, 0, "")
	pdf.SetXY(18, y+20)

	pdf.SetFillColor(235, 235, 235)
	pdf.SetFont("Helvetica", "B", 10)
	pdf.CellFormat(inner-40, 7, "Description", "B", 0, "L", true, 0, "")
	pdf.CellFormat(40, 7, "Amount", "B", 1, "R", true, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	for _, l := range inv.Lines {
		pdf.CellFormat(inner-40, 6, tr(truncate(l.Description, 95)), "", 0, "L", false, 0, "")
		pdf.CellFormat(40, 6, money(l.Amount), "", 1, "R", false, 0, "")
	}
	pdf.SetFont("Helvetica", "B", 11)
	pdf.CellFormat(inner-40, 8, "Total", "T", 0, "L", false, 0, "")
	pdf.CellFormat(40, 8, money(inv.Total), "T", 1, "R", false, 0, "")
	pdf.Ln(4)

	if inv.Kind == domain.KindInvoice {
		if len(inv.ShippingOptions) > 0 && inv.Checkout == nil {
			text("B", 10, "Delivery or collection: not chosen yet")
			for _, o := range inv.ShippingOptions {
				text("", 10, "- "+o.Describe(inv.Currency))
			}
			pdf.Ln(2)
		}
		if inv.Status == domain.InvoiceIssued {
			text("B", 10, "How to pay")
			text("", 10, instructions)
			pdf.Ln(2)
		}
		if inv.PaidAt != nil {
			text("", 10, "Paid "+day(*inv.PaidAt)+" ("+joinNonEmpty(inv.PaymentMethod, inv.PaymentReference)+")")
		}
		if inv.Tracking != "" {
			text("", 10, "Tracking: "+inv.Tracking)
		}
		if len(terms) > 0 {
			pdf.Ln(2)
			text("B", 9, "Terms")
			for _, t := range terms {
				text("", 9, t)
			}
		}
	}
	if pdf.Err() {
		return nil, pdf.Error()
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func day(t time.Time) string { return t.UTC().Format("2 January 2006") }

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// PDF renders inv with the provider's payment instructions.
func (s *Service) PDF(inv domain.Invoice) ([]byte, error) {
	return InvoicePDF(inv, s.PaymentInstructions(inv), nil)
}
